"""Presentation: the chapter context, display and number formats, plotting, rendering, exports, the runner."""
