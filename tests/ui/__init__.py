"""Components in-process (NiceGUI's user fixture) and the page's static assets."""
