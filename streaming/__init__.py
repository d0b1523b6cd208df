"""Live monitoring.

Uploaded videos played as live streams: uploads, one stream session per camera, the frame
producer that decodes and encodes each frame once, the frame hub that fans frames out to
viewers, the WebSocket consumer, the MJPEG view and the live-monitoring page. It stands alone.
"""
