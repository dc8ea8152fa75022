from borrowdesk.access.navigation import navbar_for
from borrowdesk.access.roles import ROLES, user_roles


def navigation(request):
    """The navigation and role names of the base layout, for the logged-in user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": [], "nav_roles": []}
    held = user_roles(user)
    return {"nav": navbar_for(user), "nav_roles": [r for r in ROLES if r in held]}
