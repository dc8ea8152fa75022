from borrowdesk.access.navigation import navigation_for


def navigation(request):
    user = getattr(request, "user", None)
    return {"nav": navigation_for(user) if user is not None and user.is_authenticated else []}
