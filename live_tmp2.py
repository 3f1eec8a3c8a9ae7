import time, threading, logging
logging.basicConfig(level=logging.WARNING)
import ari, ari.media as media
APP="media-probe"
with ari.connect("http://127.0.0.1:8088", "asterisk", "asterisk") as client:
    client.start(APP)
    time.sleep(0.3)
    for fmt in ("ulaw", "slin16"):
        m = media.open_rtp(client, APP, fmt)
        print(m, m.remote, m.local, m.channel.name, m.channel.state)
        peer = client.channels.originate(endpoint="Local/echo@default", app=APP)
        time.sleep(0.5)
        br = client.bridges.create(type="mixing")
        br.addChannel(channel=[m.channel.id, peer.id])
        time.sleep(0.2)
        m.send(media.codecs.tone(440, 0.5, fmt))
        m.drain(5)
        got=b""; n=0; first=None
        while True:
            f = m.read(0.5)
            if f is None: break
            got += f.data; n+=1
        print(fmt, "frames back", n, len(got), media.codecs.rms(got, fmt), m.packets_received, m.packets_ignored, set(len(x) for x in [got]))
        ev=[]
        m.on("DTMF_END", lambda e: ev.append(e.digit))
        peer.sendDTMF(dtmf="12")
        time.sleep(1)
        print("dtmf", ev)
        closed=[]
        m.on("CLOSED", lambda e: closed.append(e))
        peer.hangup(); time.sleep(0.3)
        try: m.channel.hangup()
        except Exception as e: print("hangup", e)
        time.sleep(0.5)
        print("closed", m.closed, closed)
        m.close()
        br.destroy()
print([t.name for t in threading.enumerate()])
