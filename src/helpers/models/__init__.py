"""Statistical models: CLV (BG/NBD, Gamma-Gamma, NBD), the churn model, clusters, forecasts, tests."""
