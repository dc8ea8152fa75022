from django.dispatch import Signal

# Sent after commit when a loan's delivery settled. Args: loan_id.
loan_delivered = Signal()
