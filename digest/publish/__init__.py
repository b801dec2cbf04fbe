"""The only writers of what people read: site files (site_writer) and email (email)."""
