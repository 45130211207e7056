from django.urls import path

from prakerja.integrations import views

app_name = "sandbox"
urlpatterns = [
    path("email/", views.email_inbox, name="email_inbox"),
]
