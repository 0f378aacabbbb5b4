from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def index(request: HttpRequest) -> JsonResponse:
    limit = int(request.GET.get("limit", "10"))  # a bad ?limit= crashes the view
    return JsonResponse({"items": [], "limit": limit})


def items(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": []})


urlpatterns = [path("", index), path("api/items/", items)]
