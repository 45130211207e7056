from django.urls import path

from prakerja.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
]
