"""Customer Insights: helper modules behind the quarterly customer report chapters."""
