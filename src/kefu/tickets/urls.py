from django.urls import path

from kefu.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_queue, name="queue"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/<slug:action>/", views.ticket_action, name="action"),
]
