from django.urls import path

from kefu.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("lookup/", views.lookup, name="lookup"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/errors/<str:token>.xlsx", views.import_errors, name="import_errors"),
    path("export.xlsx", views.export, name="export"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/phones/new/", views.phone_add, name="phone_add"),
    path("<int:pk>/assets/new/", views.asset_create, name="asset_create"),
    path("<int:pk>/assets/<int:asset_id>/edit/", views.asset_edit, name="asset_edit"),
    path("<int:pk>/attachments/new/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
