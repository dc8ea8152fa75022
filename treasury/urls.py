app_name = "treasury"

urlpatterns: list = []
