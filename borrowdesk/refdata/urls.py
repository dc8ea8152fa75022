app_name = "refdata"

urlpatterns: list = []
