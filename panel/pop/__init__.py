"""The screen pop's pages: the sidebar (`/`, `/panel`) and the pop's fragments (pick, quick-create, search)."""
