from ari.naming import python_name, snake_case


def test_snake_case_of_ari_names() -> None:
    assert snake_case("originateWithId") == "originate_with_id"
    assert snake_case("sendDTMF") == "send_dtmf"
    assert snake_case("deviceStates") == "device_states"
    assert snake_case("channelId") == "channel_id"
    assert snake_case("rtpstatistics") == "rtpstatistics"
    assert snake_case("transfer_progress") == "transfer_progress"
    assert snake_case("getChannelVars") == "get_channel_vars"


def test_python_name_escapes_keywords() -> None:
    assert python_name("from") == "from_"
    assert python_name("getStoredFile") == "get_stored_file"
