from django.urls import path

from prakerja.grievances import views

app_name = "grievances"
urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("baru/", views.complaint_new, name="new"),
    path("<int:complaint_id>/", views.complaint_detail, name="detail"),
    path("<int:complaint_id>/lampiran/", views.complaint_attachment, name="attachment"),
]
