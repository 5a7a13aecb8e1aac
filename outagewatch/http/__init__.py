"""HTTP plumbing shared by the website and the API: request guards, error pages, headers."""
