"""Signing out ends the session: the next page asks for a login again."""

from django.urls import reverse


def test_logout_ends_the_session(login, bob):
    client = login(bob)
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("access:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    after = client.get(reverse("home"))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("access:login"))


def test_logout_by_get_is_refused_and_keeps_the_session(login, bob):
    # Django's LogoutView takes POST only (a link or an image tag must not sign anyone out).
    client = login(bob)
    assert client.get(reverse("access:logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200
