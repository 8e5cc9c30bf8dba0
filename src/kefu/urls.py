from django.contrib import admin
from django.urls import include, path

from kefu.api import api
from kefu.core import views as core_views
from kefu.tickets import public_views as ticket_public_views

handler400 = "kefu.api.bad_request"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("accounts/", include("kefu.accounts.urls")),
    path("customers/", include("kefu.customers.urls")),
    path("tickets/", include("kefu.tickets.urls")),
    # The customer's confirmation link (no login): B9.
    path("t/confirm/<str:token>/", ticket_public_views.ticket_confirm_public,
         name="ticket_confirm_public"),
    path("core/", include("kefu.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
