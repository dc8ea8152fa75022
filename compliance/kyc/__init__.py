"""KYC: profiles with their review cycle, documents, and the daily expiry and review-case job."""
