from django.urls import path

from borrowdesk.refdata import views

app_name = "refdata"

urlpatterns = [
    path("assets/", views.asset_list, name="asset_list"),
    path("assets/<str:symbol>/", views.asset_detail, name="asset_detail"),
    path("networks/", views.network_list, name="network_list"),
    path("networks/<str:code>/", views.network_detail, name="network_detail"),
    path("venues/", views.venue_list, name="venue_list"),
    path("venues/<str:code>/", views.venue_detail, name="venue_detail"),
    path("counterparties/", views.counterparty_list, name="counterparty_list"),
    path("counterparties/<str:code>/", views.counterparty_detail, name="counterparty_detail"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<str:code>/", views.account_detail, name="account_detail"),
    path("prices/", views.price_list, name="price_list"),
]
