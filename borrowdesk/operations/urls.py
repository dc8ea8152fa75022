app_name = "operations"

urlpatterns: list = []
