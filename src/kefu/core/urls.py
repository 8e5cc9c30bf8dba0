from django.urls import path

from kefu.core import views

app_name = "core"
urlpatterns = [
    path("access-log/", views.access_log, name="access_log"),
]
