-- tcp-echo.lua: a Wireshark dissector for netlab's echo lab (labs/tcp-echo), protocol
-- `netlab_echo`. The protocol is specified in docs/protocols/echo.md; install and usage are in
-- docs/wireshark.md.
--
-- What it shows. TCP carries a byte stream; the echo lab's message protocol cuts it into
-- messages with one of two framings (common/src/framing.rs):
--   length   a 4-byte big-endian length N, then exactly N bytes of message
--   line     the message, then "\n" (a "\r" before the "\n" is tolerated)
-- Wireshark shows TCP *segments*, whose boundaries have nothing to do with the messages: one
-- segment may hold half a message, or three. This dissector asks Wireshark's TCP reassembly for
-- whole messages, so each message shows as one `netlab_echo` item, in the segment that
-- completes it, however the bytes were split.
--
-- Fields (filter names):
--   netlab_echo.sender    "client" or "server": who sent the message
--   netlab_echo.framing   "length" or "line"
--   netlab_echo.length    length framing: the 4-byte prefix, the message's size in bytes
--   netlab_echo.message   the message text (UTF-8)
--   netlab_echo.reply     a server message's first word when it is one of the protocol's
--                         replies (WELCOME, ACK, STATUS, END, BYE, ERROR)
--
-- Registered on TCP port 7007 (`tcp-echo serve`'s default, labs/tcp-echo/src/cli.rs); the
-- preference netlab_echo.port changes it (Edit > Preferences > Protocols > NETLAB_ECHO, or
-- `tshark -o netlab_echo.port:9000`), and Decode As (`-d tcp.port==PORT,netlab_echo`) adds any
-- port. The preference netlab_echo.framing picks the framing. "auto" (the default) decides once
-- per connection, from its first bytes: the server speaks first (WELCOME), and a length-framed
-- WELCOME starts with a zero byte (a length of at most 4096 is 00 00 xx xx) where a line starts
-- with a letter. Raw framing (RFC 862) has no messages to show.

local proto = Proto("netlab_echo", "netlab echo (tcp-echo, docs/protocols/echo.md)")

-- The largest message: 4096 bytes, inclusive (docs/protocols/echo.md, "The message protocol";
-- DEFAULT_MAX_FRAME in common/src/framing.rs). `--max-frame` may change it on both sides; so
-- may the preference netlab_echo.max_message here.
local DEFAULT_MAX_MESSAGE = 4096
-- Bytes of the length prefix (LENGTH_PREFIX_LEN in common/src/framing.rs).
local PREFIX_LEN = 4
local DEFAULT_PORT = 7007

-- The first words of the server's answers (docs/protocols/echo.md, the table of events).
local REPLIES = { WELCOME = true, ACK = true, STATUS = true, END = true, BYE = true, ERROR = true }

local fields = {
    sender = ProtoField.string("netlab_echo.sender", "Sender"),
    framing = ProtoField.string("netlab_echo.framing", "Framing"),
    length = ProtoField.uint32("netlab_echo.length", "Length prefix", base.DEC),
    message = ProtoField.string("netlab_echo.message", "Message"),
    reply = ProtoField.string("netlab_echo.reply", "Reply"),
}
proto.fields = { fields.sender, fields.framing, fields.length, fields.message, fields.reply }

local experts = {
    oversize = ProtoExpert.new("netlab_echo.oversize", "Message over the limit",
        expert.group.MALFORMED, expert.severity.ERROR),
}
proto.experts = { experts.oversize }

local FRAMINGS = { { 1, "auto", 0 }, { 2, "length", 1 }, { 3, "line", 2 } }
local AUTO, LENGTH, LINE = 0, 1, 2
proto.prefs.port = Pref.uint("TCP port", DEFAULT_PORT, "The echo server's port (tcp-echo serve --port)")
proto.prefs.framing = Pref.enum("Framing", AUTO,
    "auto: a message starting with a zero byte is length-framed, anything else a line",
    FRAMINGS, false)
proto.prefs.max_message = Pref.uint("Largest message", DEFAULT_MAX_MESSAGE,
    "Bytes (tcp-echo --max-frame); a longer message is flagged as an error")

-- Who sent the bytes: the side whose port is not the one this dissector was registered on (or
-- chosen for by Decode As) is the client.
local function sender_of(pinfo)
    if pinfo.dst_port == pinfo.match_uint then return "client" end
    return "server"
end

-- The Info column lists every message of a segment, " | " between them; the first replaces TCP's
-- text.
-- A segment that completes a frame reassembled from earlier segments and holds another reaches
-- the dissector twice (once with the reassembled bytes, once with the rest), so a counter reset
-- per call cannot tell a segment's first entry from a later one. The protocol column can: TCP
-- wrote its own name there, and the first entry replaces it with ours.
local function show_in_info(pinfo, text)
    if tostring(pinfo.cols.protocol) ~= "NETLAB_ECHO" then
        pinfo.cols.protocol = "NETLAB_ECHO"
        pinfo.cols.info = text
    else
        pinfo.cols.info:append(" | " .. text)
    end
end

-- Adds one message's fields under `item`; `range` is the message text (may be nil: empty).
local function add_message(item, pinfo, range, text)
    local sender = sender_of(pinfo)
    item:add(fields.sender, sender):set_generated()
    if range then item:add_packet_field(fields.message, range, ENC_UTF_8) end
    local word = text:match("^(%u+)")
    if sender == "server" and word and REPLIES[word] then
        item:add(fields.reply, word):set_generated()
    end
    show_in_info(pinfo, sender .. ": " .. text)
end

---------------------------------------------------------------------------------------------
-- Length framing: Wireshark's dissect_tcp_pdus does the reassembly. It reads the first
-- PREFIX_LEN bytes of each message, asks get_message_len how long the whole message is, waits
-- for that many bytes (across segments) and calls dissect_length_message once per message.

local function get_message_len(tvb, pinfo, offset)
    local announced = tvb(offset, PREFIX_LEN):uint()
    if announced > proto.prefs.max_message then
        -- A hostile or broken prefix (FF FF FF FF claims 4 GiB). Do not wait for bytes that
        -- the server itself refuses to read: show what this segment holds and stop there.
        return tvb:len() - offset
    end
    return PREFIX_LEN + announced
end

local function dissect_length_message(tvb, pinfo, tree)
    local item = tree:add(proto, tvb())
    item:add(fields.framing, "length"):set_generated()
    local prefix = tvb(0, PREFIX_LEN)
    local length_item = item:add(fields.length, prefix)
    local announced = prefix:uint()
    if announced > proto.prefs.max_message then
        length_item:add_proto_expert_info(experts.oversize, string.format(
            "a %d-byte message exceeds the %d-byte limit: the server answers ERROR and closes",
            announced, proto.prefs.max_message))
        show_in_info(pinfo, sender_of(pinfo) .. ": oversize length " .. announced)
        return tvb:len()
    end
    local range = nil
    local text = ""
    if announced > 0 then
        range = tvb(PREFIX_LEN, announced)
        text = range:string(ENC_UTF_8)
    end
    add_message(item, pinfo, range, text)
    item:append_text(string.format(", %d bytes: %s", announced, text))
    return tvb:len()
end

---------------------------------------------------------------------------------------------
-- Line framing: a line's length is known only when its "\n" arrives, so instead of
-- dissect_tcp_pdus this asks TCP for one more segment (DESEGMENT_ONE_MORE_SEGMENT) until it
-- has a whole line.

-- Dissects every whole line in tvb; returns the bytes used, or asks for more.
local function dissect_lines(tvb, pinfo, tree)
    local offset = 0
    local total = tvb:len()
    local bytes = tvb:raw()
    local limit = proto.prefs.max_message
    while offset < total do
        local newline = bytes:find("\n", offset + 1, true)
        if not newline then
            if total - offset > limit + 1 then
                -- More than the limit (plus a possible "\r") and still no newline: the server
                -- stops here too (docs/protocols/echo.md: ERROR, then it closes).
                local item = tree:add(proto, tvb(offset))
                item:add_proto_expert_info(experts.oversize, string.format(
                    "no newline within %d bytes: the server answers ERROR and closes", limit))
                show_in_info(pinfo, sender_of(pinfo) .. ": line over the limit")
                return total
            end
            pinfo.desegment_offset = offset
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        -- newline is the 1-based position of "\n"; the line is offset .. newline-2 (0-based).
        local line_len = newline - 1 - offset
        local text_len = line_len
        if text_len > 0 and bytes:byte(offset + text_len) == 13 then text_len = text_len - 1 end
        local item = tree:add(proto, tvb(offset, line_len + 1))
        item:add(fields.framing, "line"):set_generated()
        local range = nil
        local text = ""
        if text_len > 0 then
            range = tvb(offset, text_len)
            text = range:string(ENC_UTF_8)
        end
        if text_len > limit then
            item:add_proto_expert_info(experts.oversize, string.format(
                "a %d-byte line exceeds the %d-byte limit", text_len, limit))
        end
        add_message(item, pinfo, range, text)
        item:append_text(": " .. text)
        offset = newline
    end
    return total
end

-- "auto": each connection's framing, decided from its first bytes. Keyed by tcp.stream, the
-- number Wireshark gives each TCP connection of a capture; emptied when a capture is (re)read.
local tcp_stream = Field.new("tcp.stream")
local framing_of_connection = {}
function proto.init()
    framing_of_connection = {}
end

local function framing_of(tvb)
    local framing = proto.prefs.framing
    if framing ~= AUTO then return framing end
    local stream = tcp_stream()
    local key = stream and stream.value or -1
    if framing_of_connection[key] == nil then
        -- The first bytes of a connection are the start of a message.
        if tvb(0, 1):uint() == 0 then
            framing_of_connection[key] = LENGTH
        else
            framing_of_connection[key] = LINE
        end
    end
    return framing_of_connection[key]
end

function proto.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 then return 0 end
    local framing = framing_of(tvb)
    if framing == LENGTH then
        dissect_tcp_pdus(tvb, tree, PREFIX_LEN, get_message_len, dissect_length_message)
        return tvb:len()
    end
    return dissect_lines(tvb, pinfo, tree)
end

-- The port: registered at load time, moved when the preference changes.
local registered_port = DEFAULT_PORT
DissectorTable.get("tcp.port"):add(registered_port, proto)
function proto.prefs_changed()
    if proto.prefs.port == registered_port then return end
    local tcp_port = DissectorTable.get("tcp.port")
    if registered_port ~= 0 then tcp_port:remove(registered_port, proto) end
    registered_port = proto.prefs.port
    if registered_port ~= 0 then tcp_port:add(registered_port, proto) end
end
