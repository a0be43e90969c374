"""The pygame-ce touchscreen. Renders a ViewState, emits Intents; knows nothing of devices."""
