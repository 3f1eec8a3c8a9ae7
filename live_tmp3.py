import time, threading, logging, sys
logging.basicConfig(level=logging.WARNING)
import ari, ari.media as media
from ari.media import rtp
APP="media-probe"
fmt=sys.argv[1]; far=sys.argv[2]
with ari.connect("http://127.0.0.1:8088", "asterisk", "asterisk") as client:
    st=[]
    client.on("StasisStart", lambda e, *a: st.append((e.channel.name, e.channel.state)))
    client.start(APP)
    time.sleep(0.3)
    m = media.open_rtp(client, APP, fmt)
    # raw peek: monkeypatch parse to record payload types
    pts=[]
    orig=m._received
    peer = client.channels.originate(endpoint=f"Local/{far}@default", app=APP)
    time.sleep(0.5)
    br = client.bridges.create(type="mixing")
    br.addChannel(channel=[m.channel.id, peer.id])
    if far=="echo":
        m.send(media.codecs.tone(440, 1.0, fmt))
    time.sleep(1.5)
    frames=[]
    while True:
        f=m.read(0.2)
        if f is None: break
        frames.append(f)
    print(st)
    print(fmt, far, "frames", len(frames), "pkts", m.packets_received, "ignored", m.packets_ignored, "sizes", {len(f.data) for f in frames})
    print([media.codecs.rms(f.data, fmt) for f in frames][:60])
    print(client.channels.rtpstatistics(channelId=m.channel.id) if hasattr(client.channels,'rtpstatistics') else '')
    peer.hangup(); m.close(); br.destroy()
