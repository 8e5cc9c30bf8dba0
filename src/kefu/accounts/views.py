from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kefu.accounts import services
from kefu.core.errors import DomainError


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
@never_cache  # the page shows a new token in clear: no browser or proxy may keep a copy
def tokens(request):
    new_token = None
    error = None
    if request.method == "POST":
        try:
            _row, new_token = services.token_create(user=request.user,
                                                    name=request.POST.get("name", ""))
        except DomainError as exc:
            error = exc
    rows = request.user.api_tokens.all()
    return render(request, "accounts/tokens.html",
                  {"tokens": rows, "new_token": new_token, "error": error})


@login_required
@require_POST
def token_revoke(request, token_id):
    services.token_revoke(user=request.user, token_id=token_id)
    messages.success(request, _("令牌已吊销。"))
    return redirect("accounts:tokens")
