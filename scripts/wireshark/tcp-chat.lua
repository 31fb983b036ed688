-- tcp-chat.lua: Wireshark dissectors for netlab's TCP chat lab (labs/tcp-chat), three protocols:
--
--   netlab_pair    `tcp-chat pair`, port 7070: frames of a length, a kind byte, a text body
--                  (labs/tcp-chat/src/pair/wire.rs; docs/tcp-chat.md, section 3)
--   netlab_duplex  `tcp-chat duplex`, port 7071: the same framing, with file transfers
--                  (labs/tcp-chat/src/duplex/wire.rs; docs/tcp-chat.md, section 4)
--   netlab_room    `tcp-chat room serve`, port 7072: lines of text
--                  (docs/protocols/chat-room.md)
--
-- The ports are the defaults in labs/tcp-chat/src/cli.rs (PAIR_PORT, DUPLEX_PORT, ROOM_PORT).
-- Each protocol has a preference to change it (netlab_pair.port, netlab_duplex.port,
-- netlab_room.port: Edit > Preferences > Protocols, or `tshark -o netlab_pair.port:9000`), and
-- Decode As (`-d tcp.port==PORT,netlab_pair`) adds any port. Install and usage:
-- docs/wireshark.md.
--
-- Why reassembly matters here. TCP carries a byte stream, and a segment's boundaries have
-- nothing to do with the frames: a 64 KiB file chunk spans several segments, and one segment
-- can hold three chat frames. The two framed protocols hand Wireshark's dissect_tcp_pdus the
-- length of each frame, and it collects the segments: each frame is shown once, whole, in the
-- segment that completes it. The room's lines end at "\n", so that dissector asks TCP for one
-- more segment until the "\n" has arrived.

---------------------------------------------------------------------------------------------
-- Shared by pair and duplex: a 4-byte big-endian length, then a kind byte and a body. The
-- length counts the kind byte and the body (labs/tcp-chat/src/wire.rs).

local PREFIX_LEN = 4
-- The longest chat message body, in both modes (MAX_MESSAGE in labs/tcp-chat/src/wire.rs).
local MAX_MESSAGE = 4096

-- Who sent a segment: the side whose port is not the one the dissector was registered on (the
-- listening side's port) is the connecting side.
local function sender_of(pinfo)
    if pinfo.dst_port == pinfo.match_uint then return "connecting side" end
    return "listening side"
end

-- The Info column lists every frame of a segment, " | " between them; the first replaces TCP's
-- text.
-- A segment that completes a frame reassembled from earlier segments and holds another reaches
-- the dissector twice (once with the reassembled bytes, once with the rest), so a counter reset
-- per call cannot tell a segment's first entry from a later one. The protocol column can: TCP
-- wrote its own name there, and the first entry replaces it with ours.
local function show_in_info(pinfo, protocol_column, text)
    if tostring(pinfo.cols.protocol) ~= protocol_column then
        pinfo.cols.protocol = protocol_column
        pinfo.cols.info = text
    else
        pinfo.cols.info:append(" | " .. text)
    end
end

-- `text` of `range` (nil or empty: ""), as UTF-8.
local function text_of(range)
    if range == nil or range:len() == 0 then return "" end
    return range:string(ENC_UTF_8)
end

-- The body after the kind byte as a range, or nil when the frame has no body.
local function body_of(tvb)
    if tvb:len() <= PREFIX_LEN + 1 then return nil end
    return tvb(PREFIX_LEN + 1)
end

-- Registers `proto` on `port` now, and moves it when its `port` preference changes.
local function register_port(proto, port)
    local registered = port
    DissectorTable.get("tcp.port"):add(registered, proto)
    function proto.prefs_changed()
        if proto.prefs.port == registered then return end
        local tcp_port = DissectorTable.get("tcp.port")
        if registered ~= 0 then tcp_port:remove(registered, proto) end
        registered = proto.prefs.port
        if registered ~= 0 then tcp_port:add(registered, proto) end
    end
end

-- A dissector for a length-framed protocol. `max_payload` is the largest length a frame may
-- announce; `dissect_body(tvb, pinfo, item, kind)` adds the kind's own fields and returns a
-- short summary for the Info column.
local function framed_dissector(proto, f, e, max_payload, kinds, dissect_body)
    -- How long the frame starting at `offset` is, prefix included. A length over the limit is
    -- not believed (a peer may claim 4 GiB in four bytes; the receiver refuses it before
    -- reading on): the frame is then cut at the end of this segment, to be shown as an error.
    local function frame_len(tvb, pinfo, offset)
        local announced = tvb(offset, PREFIX_LEN):uint()
        if announced > max_payload then return tvb:len() - offset end
        return PREFIX_LEN + announced
    end

    local function dissect_frame(tvb, pinfo, tree)
        local item = tree:add(proto, tvb())
        local sender = sender_of(pinfo)
        item:add(f.sender, sender):set_generated()
        local length_range = tvb(0, PREFIX_LEN)
        local length_item = item:add(f.length, length_range)
        local announced = length_range:uint()
        local label = proto.name:upper()
        if announced > max_payload then
            length_item:add_proto_expert_info(e.oversize, string.format(
                "a %d-byte frame exceeds the %d-byte limit: the receiver refuses it and closes",
                announced, max_payload))
            show_in_info(pinfo, label, sender .. ": oversize frame (" .. announced .. " bytes)")
            return tvb:len()
        end
        if announced == 0 then
            length_item:add_proto_expert_info(e.malformed, "empty frame: no kind byte")
            show_in_info(pinfo, label, sender .. ": empty frame")
            return tvb:len()
        end
        local kind_range = tvb(PREFIX_LEN, 1)
        local kind_item = item:add(f.kind, kind_range)
        local kind = kind_range:uint()
        local summary
        if kinds[kind] then
            summary = dissect_body(tvb, pinfo, item, kind)
        else
            kind_item:add_proto_expert_info(e.malformed, string.format(
                "unknown kind 0x%02x: the receiver refuses it and closes", kind))
            summary = string.format("unknown kind 0x%02x", kind)
        end
        local kind_name = kinds[kind] or "unknown"
        item:append_text(string.format(", %s (%s), %d bytes%s", string.char(kind), kind_name,
            announced, summary ~= "" and ": " .. summary or ""))
        show_in_info(pinfo, label, string.format("%s: %s%s", sender, kind_name,
            summary ~= "" and " " .. summary or ""))
        return tvb:len()
    end

    function proto.dissector(tvb, pinfo, tree)
        if tvb:len() == 0 then return 0 end
        dissect_tcp_pdus(tvb, tree, PREFIX_LEN, frame_len, dissect_frame)
        return tvb:len()
    end
end

-- The expert infos both framed protocols use.
local function framed_experts(name)
    return {
        oversize = ProtoExpert.new(name .. ".oversize", "Frame over the limit",
            expert.group.MALFORMED, expert.severity.ERROR),
        malformed = ProtoExpert.new(name .. ".malformed", "Frame breaks the protocol",
            expert.group.MALFORMED, expert.severity.ERROR),
        text_length = ProtoExpert.new(name .. ".text_length", "Text empty or over its limit",
            expert.group.MALFORMED, expert.severity.ERROR),
    }
end

-- Adds `range` as text field `field`, flagging a length outside min..max; returns the text.
local function add_text(item, field, range, min, max, e)
    local len = range and range:len() or 0
    local text = text_of(range)
    local added
    if range then
        added = item:add_packet_field(field, range, ENC_UTF_8)
    else
        added = item:add(field, "")
        added:set_generated()
    end
    if len < min or len > max then
        added:add_proto_expert_info(e.text_length, string.format(
            "%d bytes; %d to %d are allowed", len, min, max))
    end
    return text
end

---------------------------------------------------------------------------------------------
-- netlab_pair: labs/tcp-chat/src/pair/wire.rs
--
--  0               4        5
-- +---------------+--------+-----------------------------+
-- | length (u32)  |  kind  | body: UTF-8, length-1 bytes |
-- +---------------+--------+-----------------------------+

local pair = Proto("netlab_pair", "netlab pair chat (tcp-chat pair)")
local PAIR_KINDS = {
    [0x4D] = "message", -- M: a chat message; the turn passes to the peer
    [0x50] = "play",    -- P: `GAME SEED` starts a game; the sender is player 1
    [0x47] = "move",    -- G: a move in the game in progress, as typed
    [0x51] = "quit",    -- Q: "I am leaving", no body
    [0x21] = "refusal", -- !: "what you sent breaks the protocol; I am closing"
}
-- The longest frame after the prefix: a kind byte and a maximum body (MAX_PAYLOAD in pair/wire.rs).
local PAIR_MAX_PAYLOAD = 1 + MAX_MESSAGE

local pf = {
    sender = ProtoField.string("netlab_pair.sender", "Sender"),
    length = ProtoField.uint32("netlab_pair.length", "Length", base.DEC),
    kind = ProtoField.char("netlab_pair.kind", "Kind", base.HEX, PAIR_KINDS),
    kind_name = ProtoField.string("netlab_pair.kind_name", "Kind name"),
    text = ProtoField.string("netlab_pair.text", "Message"),
    game = ProtoField.string("netlab_pair.game", "Game"),
    seed = ProtoField.string("netlab_pair.seed", "Seed"),
    move = ProtoField.string("netlab_pair.move", "Move"),
    reason = ProtoField.string("netlab_pair.reason", "Refusal reason"),
}
pair.fields = { pf.sender, pf.length, pf.kind, pf.kind_name, pf.text, pf.game, pf.seed, pf.move,
    pf.reason }
local pe = framed_experts("netlab_pair")
pair.experts = { pe.oversize, pe.malformed, pe.text_length }
pair.prefs.port = Pref.uint("TCP port", 7070, "The listening side's port (tcp-chat pair --port)")

framed_dissector(pair, pf, pe, PAIR_MAX_PAYLOAD, PAIR_KINDS, function(tvb, pinfo, item, kind)
    item:add(pf.kind_name, PAIR_KINDS[kind]):set_generated()
    local body = body_of(tvb)
    if kind == 0x4D then
        return add_text(item, pf.text, body, 1, MAX_MESSAGE, pe)
    elseif kind == 0x50 then
        local text = text_of(body)
        local game, seed = text:match("^(%S+) (%d+)$")
        if game then
            item:add(pf.game, game):set_generated()
            item:add(pf.seed, seed):set_generated()
        else
            item:add_proto_expert_info(pe.malformed,
                "a game start is `tictactoe|rps|hangman SEED`")
        end
        return text
    elseif kind == 0x47 then
        return add_text(item, pf.move, body, 0, MAX_MESSAGE, pe)
    elseif kind == 0x51 then
        if body then item:add_proto_expert_info(pe.malformed, "a quit frame has no body") end
        return ""
    else
        return add_text(item, pf.reason, body, 1, MAX_MESSAGE, pe)
    end
end)
register_port(pair, 7070)

---------------------------------------------------------------------------------------------
-- netlab_duplex: labs/tcp-chat/src/duplex/wire.rs. Numbers are big-endian. A file travels as
-- F (offer), any number of D (data), then E (end, with its SHA-256); the receiver answers R.

local duplex = Proto("netlab_duplex", "netlab duplex chat (tcp-chat duplex)")
local DUPLEX_KINDS = {
    [0x4D] = "message", -- M: text, 1..=4096 bytes
    [0x46] = "offer",   -- F: id u32, size u64, name (1..=255 bytes)
    [0x44] = "data",    -- D: id u32, 1..=65536 bytes of the file
    [0x45] = "end",     -- E: id u32, SHA-256 of the whole file (32 bytes)
    [0x58] = "abort",   -- X: id u32, reason: the sender gave up on this file
    [0x52] = "result",  -- R: id u32, ok u8, bytes received u64, SHA-256 of them, note
    [0x51] = "quit",    -- Q: no body
    [0x21] = "refusal", -- !: reason, 1..=512 bytes
}
-- Limits from duplex/wire.rs: CHUNK (file bytes per D frame), MAX_NAME, MAX_NOTE, and the
-- longest frame, a D frame with a full chunk (MAX_PAYLOAD = 1 + 4 + CHUNK).
local CHUNK = 64 * 1024
local MAX_NAME = 255
local MAX_NOTE = 512
local DIGEST_LEN = 32
local DUPLEX_MAX_PAYLOAD = 1 + 4 + CHUNK

local df = {
    sender = ProtoField.string("netlab_duplex.sender", "Sender"),
    length = ProtoField.uint32("netlab_duplex.length", "Length", base.DEC),
    kind = ProtoField.char("netlab_duplex.kind", "Kind", base.HEX, DUPLEX_KINDS),
    kind_name = ProtoField.string("netlab_duplex.kind_name", "Kind name"),
    text = ProtoField.string("netlab_duplex.text", "Message"),
    id = ProtoField.uint32("netlab_duplex.id", "Transfer id", base.DEC),
    size = ProtoField.uint64("netlab_duplex.size", "File size", base.DEC),
    name = ProtoField.string("netlab_duplex.name", "File name"),
    data = ProtoField.bytes("netlab_duplex.data", "File bytes"),
    chunk_len = ProtoField.uint32("netlab_duplex.chunk_len", "Chunk length", base.DEC),
    digest = ProtoField.bytes("netlab_duplex.digest", "SHA-256"),
    ok = ProtoField.bool("netlab_duplex.ok", "Saved intact"),
    received = ProtoField.uint64("netlab_duplex.received", "Bytes received", base.DEC),
    note = ProtoField.string("netlab_duplex.note", "Note"),
    reason = ProtoField.string("netlab_duplex.reason", "Reason"),
}
duplex.fields = { df.sender, df.length, df.kind, df.kind_name, df.text, df.id, df.size, df.name,
    df.data, df.chunk_len, df.digest, df.ok, df.received, df.note, df.reason }
local de = framed_experts("netlab_duplex")
duplex.experts = { de.oversize, de.malformed, de.text_length }
duplex.prefs.port = Pref.uint("TCP port", 7071, "The listening side's port (tcp-chat duplex --port)")

-- The fixed fields of each kind that has them, in order: (field, bytes).
local DUPLEX_HEADS = {
    [0x46] = { { df.id, 4 }, { df.size, 8 } },
    [0x44] = { { df.id, 4 } },
    [0x45] = { { df.id, 4 }, { df.digest, DIGEST_LEN } },
    [0x58] = { { df.id, 4 } },
    [0x52] = { { df.id, 4 }, { df.ok, 1 }, { df.received, 8 }, { df.digest, DIGEST_LEN } },
}

framed_dissector(duplex, df, de, DUPLEX_MAX_PAYLOAD, DUPLEX_KINDS, function(tvb, pinfo, item, kind)
    item:add(df.kind_name, DUPLEX_KINDS[kind]):set_generated()
    local offset = PREFIX_LEN + 1
    local values = {}
    for _, head in ipairs(DUPLEX_HEADS[kind] or {}) do
        local field, len = head[1], head[2]
        if tvb:len() < offset + len then
            item:add_proto_expert_info(de.malformed, "frame shorter than its fixed fields")
            return "malformed"
        end
        item:add(field, tvb(offset, len))
        values[#values + 1] = tvb(offset, len)
        offset = offset + len
    end
    local rest = nil
    if tvb:len() > offset then rest = tvb(offset) end
    local rest_len = rest and rest:len() or 0
    if kind == 0x4D then
        return add_text(item, df.text, rest, 1, MAX_MESSAGE, de)
    elseif kind == 0x46 then
        local name = add_text(item, df.name, rest, 1, MAX_NAME, de)
        return string.format("id=%d size=%s %s", values[1]:uint(), values[2]:uint64(), name)
    elseif kind == 0x44 then
        item:add(df.chunk_len, rest_len):set_generated()
        if rest then item:add(df.data, rest) end
        if rest_len < 1 or rest_len > CHUNK then
            item:add_proto_expert_info(de.text_length, string.format(
                "a chunk of %d bytes; 1 to %d are allowed", rest_len, CHUNK))
        end
        return string.format("id=%d %d bytes", values[1]:uint(), rest_len)
    elseif kind == 0x45 then
        if rest then item:add_proto_expert_info(de.malformed, "bytes after the digest") end
        return string.format("id=%d sha256=%s", values[1]:uint(), tostring(values[2]:bytes()):lower())
    elseif kind == 0x58 then
        local reason = add_text(item, df.reason, rest, 0, MAX_NOTE, de)
        return string.format("id=%d %s", values[1]:uint(), reason)
    elseif kind == 0x52 then
        local note = add_text(item, df.note, rest, 0, MAX_NOTE, de)
        local ok = values[2]:uint()
        if ok > 1 then item:add_proto_expert_info(de.malformed, "ok must be 0 or 1") end
        return string.format("id=%d ok=%d received=%s %s", values[1]:uint(), ok,
            values[3]:uint64(), note)
    elseif kind == 0x51 then
        if rest then item:add_proto_expert_info(de.malformed, "a quit frame has no body") end
        return ""
    else
        return add_text(item, df.reason, rest, 1, MAX_NOTE, de)
    end
end)
register_port(duplex, 7071)

---------------------------------------------------------------------------------------------
-- netlab_room: docs/protocols/chat-room.md. Every message is one line: UTF-8 text, then "\n"
-- (a "\r" before it is dropped), at most 4096 bytes without the "\n". A client line is a
-- command or a message; a server line starts with an upper-case keyword.
--
-- Not followed: after `get NAME` (answer `FILE SIZE NAME`) and `put NAME SIZE` (answer `READY`)
-- the connection carries exactly SIZE raw bytes before lines resume (labs/tcp-chat/src/room/
-- protocol.rs). Those bytes show here as lines that make no sense; their end is at SIZE bytes,
-- not at a "\n". See docs/wireshark.md.

local room = Proto("netlab_room", "netlab chat room (tcp-chat room)")
-- The longest line, both directions (docs/protocols/chat-room.md, "Lines"; MAX_LINE in
-- labs/tcp-chat/src/room/protocol.rs).
local MAX_LINE = 4096
-- Client commands, recognized only as a whole first word; any other line is a message.
local ROOM_COMMANDS = { ["/msg"] = true, ["/nick"] = true, status = true, exit = true,
    list = true, get = true, put = true }

local rf = {
    sender = ProtoField.string("netlab_room.sender", "Sender"),
    line = ProtoField.string("netlab_room.line", "Line"),
    command = ProtoField.string("netlab_room.command", "Command"),
    keyword = ProtoField.string("netlab_room.keyword", "Keyword"),
    args = ProtoField.string("netlab_room.args", "Arguments"),
}
room.fields = { rf.sender, rf.line, rf.command, rf.keyword, rf.args }
local re = {
    oversize = ProtoExpert.new("netlab_room.oversize", "Line over the limit",
        expert.group.MALFORMED, expert.severity.ERROR),
}
room.experts = { re.oversize }
room.prefs.port = Pref.uint("TCP port", 7072, "The room server's port (tcp-chat room serve --port)")

-- Splits a line into its first word and the rest.
local function first_word(text)
    local word, rest = text:match("^(%S+) ?(.*)$")
    return word or "", rest or ""
end

-- One line's fields. A client line's command is its first word when that is a command, else
-- "message"; a server line's keyword is its first word (WELCOME, ACK, MSG, INFO, ...), or, for
-- the lines of a `status` answer between STATUS and END, the client's name.
local function dissect_room_line(item, pinfo, text)
    local from_client = pinfo.dst_port == pinfo.match_uint
    local word, rest = first_word(text)
    local summary
    if from_client then
        item:add(rf.sender, "client"):set_generated()
        if ROOM_COMMANDS[word] then
            item:add(rf.command, word):set_generated()
            item:add(rf.args, rest):set_generated()
        elseif text ~= "" then
            item:add(rf.command, "message"):set_generated()
            item:add(rf.args, text):set_generated()
        end
        summary = "client: " .. text
    else
        item:add(rf.sender, "server"):set_generated()
        item:add(rf.keyword, word):set_generated()
        item:add(rf.args, rest):set_generated()
        summary = "server: " .. text
    end
    return summary
end

-- Every whole line in tvb, one item each; a partial line waits for the next segment.
function room.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 then return 0 end
    local offset = 0
    local total = tvb:len()
    local bytes = tvb:raw()
    while offset < total do
        local newline = bytes:find("\n", offset + 1, true) -- 1-based position of the "\n"
        if not newline then
            if total - offset > MAX_LINE + 1 then
                local item = tree:add(room, tvb(offset))
                item:add_proto_expert_info(re.oversize, string.format(
                    "no newline within %d bytes: the server answers ERROR and disconnects",
                    MAX_LINE))
                show_in_info(pinfo, "NETLAB_ROOM", "line over the limit")
                return total
            end
            pinfo.desegment_offset = offset
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        local line_len = newline - 1 - offset
        local text_len = line_len
        if text_len > 0 and bytes:byte(offset + text_len) == 13 then text_len = text_len - 1 end
        local item = tree:add(room, tvb(offset, line_len + 1))
        local range = text_len > 0 and tvb(offset, text_len) or nil
        local text = text_of(range)
        if range then item:add_packet_field(rf.line, range, ENC_UTF_8) end
        if text_len > MAX_LINE then
            item:add_proto_expert_info(re.oversize, string.format(
                "a %d-byte line exceeds the %d-byte limit", text_len, MAX_LINE))
        end
        item:append_text(": " .. text)
        show_in_info(pinfo, "NETLAB_ROOM", dissect_room_line(item, pinfo, text))
        offset = newline
    end
    return total
end
register_port(room, 7072)
