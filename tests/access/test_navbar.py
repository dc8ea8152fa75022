"""The navbar as shown: the collateral pages are one menu, every other entry a plain link."""

from django.urls import reverse

from borrowdesk.access.navigation import navbar_for, navigation_for


def test_the_collateral_pages_are_one_menu_and_the_rest_plain_links(personas):
    rita = personas["rita"]
    bar = navbar_for(rita)
    menus = [entry for entry in bar if "menu" in entry]
    assert [menu["label"] for menu in menus] == ["Collateral"]
    in_menu = [link["label"] for link in menus[0]["menu"]]
    assert in_menu == [link["label"] for link in navigation_for(rita) if link["group"] == "Collateral"]
    assert {"Coverage", "Margin calls", "Risk config", "Stress"} <= set(in_menu)
    # Every entry the policy offers is there once, in a menu or on the bar.
    shown = [link["label"] for entry in bar for link in entry.get("menu", [entry])]
    assert shown == [link["label"] for link in navigation_for(rita)]


def test_the_page_renders_one_dropdown_for_risk_and_one_for_compliance(login, personas):
    page = login(personas["rita"]).get(reverse("home")).content.decode()
    assert page.count("dropdown-toggle") == 1
    page = login(personas["carl"]).get(reverse("home")).content.decode()
    assert page.count("dropdown-toggle") == 1  # the Compliance menu (issue 10: cases, KYC, sanctions)
    menus = [entry["label"] for entry in navbar_for(personas["carl"]) if "menu" in entry]
    assert menus == ["Compliance"]
