"""The navbar as shown: each group of pages one menu when the user may open more than one of them
(inventory, collateral, compliance, reconciliation, reference data, oversight), every other entry a plain
link."""

from django.urls import reverse

from borrowdesk.access.navigation import navbar_for, navigation_for


def test_the_collateral_pages_are_one_menu_and_the_rest_plain_links(personas):
    rita = personas["rita"]
    bar = navbar_for(rita)
    menus = [entry for entry in bar if "menu" in entry]
    assert [menu["label"] for menu in menus] == ["Inventory", "Collateral", "Reference"]
    assert [entry["label"] for entry in bar if "menu" not in entry] == ["Approval queue", "KYC"]
    in_menu = [link["label"] for link in menus[1]["menu"]]
    assert in_menu == [link["label"] for link in navigation_for(rita) if link["group"] == "Collateral"]
    assert {"Coverage", "Margin calls", "Risk config", "Stress"} <= set(in_menu)
    # Every entry the policy offers is there once, in a menu or on the bar.
    shown = [link["label"] for entry in bar for link in entry.get("menu", [entry])]
    assert shown == [link["label"] for link in navigation_for(rita)]


def test_the_page_renders_a_dropdown_per_menu(login, personas):
    page = login(personas["rita"]).get(reverse("home")).content.decode()
    assert page.count("dropdown-toggle") == 3  # inventory, collateral, reference
    page = login(personas["carl"]).get(reverse("home")).content.decode()
    assert page.count("dropdown-toggle") == 2  # compliance (cases, KYC, sanctions…), reference
    menus = [entry["label"] for entry in navbar_for(personas["carl"]) if "menu" in entry]
    assert menus == ["Compliance", "Reference"]


def test_a_group_with_one_page_for_the_user_is_a_plain_link(personas):
    # alice (a trader) opens the borrow book but not the positions: "Borrow book" on the bar, no menu.
    bar = navbar_for(personas["alice"])
    assert {"label": "Borrow book", "url": reverse("inventory:loans"), "group": "Inventory"} in bar
    assert "Inventory" not in [entry["label"] for entry in bar if "menu" in entry]


def test_oversight_is_one_menu_for_the_auditor(personas):
    bar = navbar_for(personas["audrey"])
    oversight = next(entry for entry in bar if entry["label"] == "Oversight")
    assert [link["label"] for link in oversight["menu"]] == ["Jobs", "Audit", "Access log"]
