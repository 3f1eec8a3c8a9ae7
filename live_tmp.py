import time, threading, logging, sys
logging.basicConfig(level=logging.WARNING)
import ari, ari.media as media
APP="media-probe"
with ari.connect("http://127.0.0.1:8088", "asterisk", "asterisk") as client:
    events=[]
    client.on("StasisStart", lambda e, *a: events.append(("StasisStart", e.channel.id, e.channel.state)))
    client.start(APP)
    time.sleep(0.3)
    m = media.open_websocket(client, APP, "slin16")
    print(m, m.frame_size, m.ptime, m.start_fields, m.channel.name, m.channel.state)
    time.sleep(0.3)
    print(events)
    peer = client.channels.originate(endpoint="Local/echo@default", app=APP)
    time.sleep(0.5)
    br = client.bridges.create(type="mixing")
    br.addChannel(channel=[m.channel.id, peer.id])
    time.sleep(0.2)
    tone = media.codecs.tone(440, 1.0, "slin16")
    t0=time.monotonic()
    m.send(tone)
    mk = m.mark("end")
    print("mark played", mk.wait(5), time.monotonic()-t0)
    n=0; got=b""
    while True:
        f = m.read(0.5)
        if f is None: break
        got += f.data; n+=1
    print("frames back", n, len(got), media.codecs.rms(got), m.frames_sent)
    print(m.status())
    m.close()
    time.sleep(0.5)
    print("closed", m.closed, m.close_code)
    try: peer.hangup()
    except Exception as e: print(e)
    br.destroy()
print([t.name for t in threading.enumerate()])
