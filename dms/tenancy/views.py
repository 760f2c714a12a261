from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_POST

from .principals import SESSION_MEMBERSHIP_KEY, memberships_of


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@login_required
@require_POST
def switch_tenant(request: HttpRequest) -> HttpResponse:
    """Choose which of the user's memberships the session acts with (only the user's own)."""
    wanted = request.POST.get("membership")
    mine = {str(m.pk): m for m in memberships_of(request.user)}
    if wanted in mine:
        request.session[SESSION_MEMBERSHIP_KEY] = mine[wanted].pk
    return HttpResponseRedirect(request.POST.get("next") or "/admin/")
