from django.urls import path

from kefu.tickets import intake_views, views
from kefu.tickets.review_views import weekly_review_export, weekly_review_page

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_queue, name="queue"),
    path("counts/", views.queue_counts, name="queue_counts"),
    path("call/", intake_views.call_intake, name="call"),
    path("new/", intake_views.ticket_new, name="new"),
    path("bulk/", views.bulk_action, name="bulk"),
    path("filters/", views.saved_filter_create, name="saved_filter_create"),
    path("filters/<int:filter_id>/delete/", views.saved_filter_delete, name="saved_filter_delete"),
    path("review/", weekly_review_page, name="review"),
    path("review/export/", weekly_review_export, name="review_export"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/<slug:action>/", views.ticket_action, name="action"),
]
