"""Merge a kvmaudit libvirt XML fragment into a full domain definition, as an admin following
its header would with `virsh edit`: sections (<numatune>, <memoryBacking>, ...) replace the
domain's; a fragment <disk> updates the domain's disk with the same <target dev>, a fragment
<interface> with <alias name='netN'/> updates the domain's (N+1)-th interface (their <driver>
and <model> attributes merge into the existing elements). Comments are dropped.

usage: merge_fragment.py DOMAIN.xml FRAGMENT.xml OUT.xml
Fails (exit 1) when a fragment device matches no element of the domain, or matches several.
"""
import sys
import xml.etree.ElementTree as ET

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
ET.register_namespace("qemu", QEMU_NS)


def device_match(devices, el):
    if el.tag == "disk":
        dev = el.find("target").get("dev")
        return [d for d in devices.findall("disk") if d.find("target").get("dev") == dev]
    if el.tag == "interface":
        name = el.find("alias").get("name")
        idx = int(name[len("net"):])
        ifaces = devices.findall("interface")
        return ifaces[idx:idx + 1]
    return None


def main():
    dom = ET.parse(sys.argv[1]).getroot()
    frag = ET.parse(sys.argv[2]).getroot()
    for sec in frag:
        if sec.tag == "name":
            continue
        if sec.tag == "devices":
            devices = dom.find("devices")
            for el in sec:
                match = device_match(devices, el)
                if match is None:
                    devices.append(el)
                    continue
                if len(match) != 1:
                    sys.exit("fragment %s matches %d elements of the domain" % (el.tag, len(match)))
                target = match[0]
                for child in el:
                    if child.tag in ("target", "alias"):
                        continue
                    cur = target.find(child.tag)
                    if cur is None:
                        target.append(child)
                    else:
                        cur.attrib.update(child.attrib)
            continue
        if len(sec) == 0 and not (sec.text or "").strip():
            continue  # a section that only holds comments (advice in words)
        cur = dom.find(sec.tag)
        if cur is not None:
            dom.remove(cur)
        dom.append(sec)
    ET.ElementTree(dom).write(sys.argv[3], encoding="unicode")


main()
