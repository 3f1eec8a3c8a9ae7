import time, sys, logging
import ari, ari.media as media
APP="media-probe"
fmt=sys.argv[1]
with ari.connect("http://127.0.0.1:8088", "asterisk", "asterisk") as client:
    client.start(APP)
    time.sleep(0.3)
    m = media.open_rtp(client, APP, fmt)
    peer = client.channels.originate(endpoint="Local/echo@default", app=APP)
    time.sleep(0.5)
    br = client.bridges.create(type="mixing")
    br.addChannel(channel=[m.channel.id, peer.id])
    time.sleep(0.3)
    print(client.bridges.get(bridgeId=br.id).technology if hasattr(client.bridges,'get') else '')
    t0=time.monotonic()
    m.send(media.codecs.tone(440, 2.0, fmt))
    times=[]
    m.on_audio(lambda f: times.append(f.received - t0))
    time.sleep(2.6)
    print(fmt, "pkts", m.packets_received, "sent", m.frames_sent, "first", times[:3], "last", times[-3:] if times else None)
    import collections
    print(collections.Counter(int(t*2)/2 for t in times))
    peer.hangup(); m.close(); br.destroy()
