from django.urls import path

from kefu.core import views

app_name = "core"
urlpatterns = [
    path("access-log/", views.access_log, name="access_log"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
