from django.urls import path

from prakerja.dashboards.public_views import transparency

app_name = "transparency"
urlpatterns = [path("", transparency, name="index")]
