"""The frame around every page: sidebar, palette, notifications, approvals badge, banners."""
