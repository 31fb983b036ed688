-- udp-chat.lua: a Wireshark dissector for netlab's udp-chat protocol.
--
-- The protocol is defined in docs/protocols/udp-chat.md; every rule below cites the section of
-- that page it comes from. The Rust side is labs/udp-chat/src/wire.rs.
--
-- Install: copy this file into Wireshark's personal Lua plugins folder (Help > About Wireshark >
-- Folders > "Personal Lua Plugins": ~/.local/lib/wireshark/plugins on Linux and macOS,
-- %APPDATA%\Wireshark\plugins on Windows), then Analyze > Reload Lua Plugins. Or load it for
-- one run:  tshark -X lua_script:scripts/wireshark/udp-chat.lua -r capture.pcapng
--
-- What it shows, for each datagram on the udp-chat port (7075 by default; the preference
-- "udpchat.port" changes it: Edit > Preferences > Protocols > UDPCHAT, or tshark -o udpchat.port:N):
--   * every header field by name, the type by name (JOIN, DATA, ...), flags bit by bit,
--     fragment index/count, the payload as text (a JOIN's name, a DATA's chat text);
--   * in the Info column the same words as `udp-chat --trace`: "DATA seq=2 ack=1 len=16 RETRANSMIT";
--   * expert info: a RETRANSMIT datagram and the frame that first carried its sequence number;
--     a copy of a sequence number seen before without RETRANSMIT (a duplicate made by the
--     network, or by udp-chat's fault injector); each rule of "A malformed datagram is dropped".
-- Packet comments written by `udp-chat --pcap` (what the fault injector did) are Wireshark's own
-- field frame.comment; this dissector does not need to read them.

local udpchat = Proto("udpchat", "netlab udp-chat")

-- labs/udp-chat/src/cli.rs DEFAULT_PORT: `udp-chat serve` listens here unless --port says otherwise.
local DEFAULT_PORT = 7075

-- docs/protocols/udp-chat.md, "The header": 16 bytes, big-endian, then the payload.
local HEADER_LEN = 16
-- "The header": byte 0 is always 1.
local VERSION = 1
-- "Transport": nobody sends a datagram over 1200 bytes (header included); netlab's receiver
-- drops a longer one ("A malformed datagram is dropped").
local MAX_DATAGRAM = 1200

-- "The header", the type table: byte 1.
local TYPES = { [1] = "JOIN", [2] = "LEAVE", [3] = "DATA", [4] = "ACK", [5] = "PING", [6] = "PONG" }
local JOIN, DATA = 1, 3
-- "The header": JOIN, LEAVE and DATA are sequenced (numbered, acknowledged, delivered in order).
local SEQUENCED = { [1] = true, [2] = true, [3] = true }
-- "A malformed datagram is dropped": LEAVE, ACK, PING and PONG carry no payload.
local NO_PAYLOAD = { [2] = true, [4] = true, [5] = true, [6] = true }

-- "The header", byte 12: bit 0 RETRANSMIT (informational), bit 1 NOT_HELD (in an ACK), others 0.
local RETRANSMIT = 0x01
local NOT_HELD = 0x02
local RESERVED_FLAGS = 0xfc

local f = udpchat.fields
f.version = ProtoField.uint8("udpchat.version", "Version", base.DEC)
f.type = ProtoField.uint8("udpchat.type", "Type", base.DEC, TYPES)
f.type_name = ProtoField.string("udpchat.type_name", "Type name")
f.length = ProtoField.uint16("udpchat.length", "Payload length", base.DEC)
f.seq = ProtoField.uint32("udpchat.seq", "Sequence number", base.DEC)
f.ack = ProtoField.uint32("udpchat.ack", "Acknowledgement number", base.DEC)
f.flags = ProtoField.uint8("udpchat.flags", "Flags", base.HEX)
f.retransmit = ProtoField.bool("udpchat.flags.retransmit", "RETRANSMIT", 8,
    { "resent: sent before and not acknowledged in time", "first transmission" }, RETRANSMIT)
f.not_held = ProtoField.bool("udpchat.flags.not_held", "NOT_HELD", 8,
    { "arrived but thrown away: the sender must resend it", "not set" }, NOT_HELD)
f.reserved_flags = ProtoField.uint8("udpchat.flags.reserved", "Reserved flag bits", base.HEX,
    nil, RESERVED_FLAGS)
f.frag_index = ProtoField.uint8("udpchat.frag_index", "Fragment index", base.DEC)
f.frag_count = ProtoField.uint8("udpchat.frag_count", "Fragment count", base.DEC)
f.reserved = ProtoField.uint8("udpchat.reserved", "Reserved", base.HEX)
f.payload = ProtoField.bytes("udpchat.payload", "Payload")
f.name = ProtoField.string("udpchat.name", "Member name")
f.text = ProtoField.string("udpchat.text", "Chat text")
f.first_seen = ProtoField.framenum("udpchat.first_seen", "Sequence number first seen in frame")
f.retransmission_of = ProtoField.framenum("udpchat.retransmission_of", "Retransmission of frame")
f.duplicate_of = ProtoField.framenum("udpchat.duplicate_of", "Duplicate of frame")

local e = {
    retransmission = ProtoExpert.new("udpchat.expert.retransmission", "Retransmission",
        expert.group.SEQUENCE, expert.severity.NOTE),
    duplicate = ProtoExpert.new("udpchat.expert.duplicate", "Duplicate datagram",
        expert.group.SEQUENCE, expert.severity.WARN),
    not_held = ProtoExpert.new("udpchat.expert.not_held", "Early datagram thrown away",
        expert.group.SEQUENCE, expert.severity.NOTE),
    malformed = ProtoExpert.new("udpchat.expert.malformed", "Malformed udp-chat datagram",
        expert.group.MALFORMED, expert.severity.ERROR),
    too_long = ProtoExpert.new("udpchat.expert.too_long", "Datagram over 1200 bytes",
        expert.group.PROTOCOL, expert.severity.WARN),
}
udpchat.experts = { e.retransmission, e.duplicate, e.not_held, e.malformed, e.too_long }

udpchat.prefs.port = Pref.uint("UDP port", DEFAULT_PORT,
    "The room's UDP port (udp-chat serve --port); 0 turns the dissector off")

-- Sequence numbers seen, per direction of each conversation ("Sequence numbers": each direction
-- numbers its own datagrams): seen[direction][seq] = first frame. Filled on the first pass over
-- the file only; what each frame found is kept in verdicts[frame], so clicking around (which
-- dissects frames again, in any order) shows the same answer.
local seen = {}
local verdicts = {}

function udpchat.init()
    seen = {}
    verdicts = {}
end

local function direction(pinfo)
    return tostring(pinfo.src) .. ":" .. pinfo.src_port .. ">" .. tostring(pinfo.dst) .. ":" .. pinfo.dst_port
end

-- The first frame that carried `seq` in this direction (nil if this is the first).
local function first_frame(pinfo, seq)
    if not pinfo.visited then
        local key = direction(pinfo)
        seen[key] = seen[key] or {}
        local first = seen[key][seq]
        if first == nil then
            seen[key][seq] = pinfo.number
        end
        verdicts[pinfo.number] = first or false
    end
    return verdicts[pinfo.number] or nil
end

-- The rules of "A malformed datagram is dropped", in the order wire.rs checks them; nil if none
-- is broken.
local function broken_rule(buffer, type_, len, flags, index, count)
    local version = buffer(0, 1):uint()
    if version ~= VERSION then
        return "version " .. version .. ", expected 1"
    end
    if TYPES[type_] == nil then
        return "unknown type " .. type_
    end
    if len ~= buffer:len() - HEADER_LEN then
        return "length field says " .. len .. " payload bytes but " .. (buffer:len() - HEADER_LEN) .. " arrived"
    end
    if bit.band(flags, RESERVED_FLAGS) ~= 0 or buffer(15, 1):uint() ~= 0 then
        return "reserved bits set"
    end
    if index >= count or (type_ ~= DATA and count ~= 1) then
        return "bad fragment fields: piece " .. index .. " of " .. count .. " in a " .. TYPES[type_]
    end
    if NO_PAYLOAD[type_] and len > 0 then
        return TYPES[type_] .. " must have no payload"
    end
    return nil
end

-- "DATA seq=3 ack=1 len=5 frag=0/2 RETRANSMIT", as labs/udp-chat/src/describe.rs words it.
local function summary(type_, seq, ack, payload_len, flags, index, count)
    local text = (TYPES[type_] or ("type " .. type_)) .. " seq=" .. seq .. " ack=" .. ack
    if payload_len > 0 then text = text .. " len=" .. payload_len end
    if count > 1 then text = text .. " frag=" .. index .. "/" .. count end
    if bit.band(flags, RETRANSMIT) ~= 0 then text = text .. " RETRANSMIT" end
    if bit.band(flags, NOT_HELD) ~= 0 then text = text .. " NOT_HELD" end
    return text
end

function udpchat.dissector(buffer, pinfo, tree)
    pinfo.cols.protocol = "UDPCHAT"
    local subtree = tree:add(udpchat, buffer(), "netlab udp-chat")
    -- "A malformed datagram is dropped": empty, or shorter than the 16-byte header.
    if buffer:len() < HEADER_LEN then
        subtree:add_proto_expert_info(e.malformed,
            buffer:len() .. " bytes, shorter than the 16-byte header")
        pinfo.cols.info = buffer:len() .. " bytes, malformed: shorter than the header"
        return buffer:len()
    end

    local type_ = buffer(1, 1):uint()
    local len = buffer(2, 2):uint()
    local seq = buffer(4, 4):uint()
    local ack = buffer(8, 4):uint()
    local flags = buffer(12, 1):uint()
    local index = buffer(13, 1):uint()
    local count = buffer(14, 1):uint()
    local payload_len = buffer:len() - HEADER_LEN

    subtree:add(f.version, buffer(0, 1))
    subtree:add(f.type, buffer(1, 1))
    subtree:add(f.type_name, buffer(1, 1), TYPES[type_] or "unknown")
    subtree:add(f.length, buffer(2, 2))
    subtree:add(f.seq, buffer(4, 4))
    subtree:add(f.ack, buffer(8, 4))
    local flag_tree = subtree:add(f.flags, buffer(12, 1))
    flag_tree:add(f.retransmit, buffer(12, 1))
    flag_tree:add(f.not_held, buffer(12, 1))
    flag_tree:add(f.reserved_flags, buffer(12, 1))
    subtree:add(f.frag_index, buffer(13, 1))
    subtree:add(f.frag_count, buffer(14, 1))
    subtree:add(f.reserved, buffer(15, 1))
    if payload_len > 0 then
        local payload = buffer(HEADER_LEN)
        subtree:add(f.payload, payload)
        if type_ == JOIN then
            subtree:add(f.name, payload)
        elseif type_ == DATA then
            subtree:add(f.text, payload)
        end
    end

    local info = summary(type_, seq, ack, payload_len, flags, index, count)
    local rule = broken_rule(buffer, type_, len, flags, index, count)
    if rule ~= nil then
        subtree:add_proto_expert_info(e.malformed, "Malformed (dropped by a receiver): " .. rule)
        info = info .. " [malformed: " .. rule .. "]"
    end
    if buffer:len() > MAX_DATAGRAM then
        subtree:add_proto_expert_info(e.too_long, buffer:len() ..
            " bytes: no conforming sender sends over 1200, netlab's room drops it")
    end
    if type_ == 4 and bit.band(flags, NOT_HELD) ~= 0 then
        subtree:add_proto_expert_info(e.not_held,
            "NOT_HELD: datagram " .. seq .. " arrived early and was thrown away; it must be resent")
    end

    -- "Receiving" and "Sending": a sequenced number seen again is a retransmission (RETRANSMIT
    -- set by a sender whose timer fired) or a duplicate (a copy the network made).
    if SEQUENCED[type_] and rule == nil then
        local first = first_frame(pinfo, seq)
        local retransmitted = bit.band(flags, RETRANSMIT) ~= 0
        if first ~= nil then
            subtree:add(f.first_seen, first):set_generated()
        end
        if retransmitted then
            local text = "Retransmission of " .. TYPES[type_] .. " seq=" .. seq
            if first ~= nil then
                subtree:add(f.retransmission_of, first):set_generated()
                text = text .. " (first sent in frame " .. first .. ")"
            end
            subtree:add_proto_expert_info(e.retransmission, text)
        elseif first ~= nil then
            subtree:add(f.duplicate_of, first):set_generated()
            subtree:add_proto_expert_info(e.duplicate, "Duplicate: " .. TYPES[type_] .. " seq=" ..
                seq .. " was first seen in frame " .. first .. " and this copy is not marked RETRANSMIT")
        end
    end

    subtree:append_text(": " .. info)
    pinfo.cols.info = info
    return buffer:len()
end

-- Registered on the room's port; both directions match it (the UDP dissector tries both ports).
local registered_port = DEFAULT_PORT
DissectorTable.get("udp.port"):add(DEFAULT_PORT, udpchat)

function udpchat.prefs_changed()
    local port = udpchat.prefs.port
    if port == registered_port then return end
    local udp_port = DissectorTable.get("udp.port")
    if registered_port ~= 0 then udp_port:remove(registered_port, udpchat) end
    if port ~= 0 then udp_port:add(port, udpchat) end
    registered_port = port
end
