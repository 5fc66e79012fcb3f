"""Reads heaptrack's leaked-bytes stacks (`heaptrack_print --flamegraph-cost-type leaked -F`)
taken with N idle connections open and prints the bytes per connection: NIO's alone,
Switchyard's (a Switchyard frame anywhere on the stack), and the rest (startup), then the sites
holding at least 8 bytes a connection: `census.py STACKS N`."""
import collections
import subprocess
import sys

ALLOCATORS = ("swift_allocObject", "swift_slowAlloc", "malloc", "calloc", "realloc",
              "posix_memalign", "_allocateStringStorage", "$ss22_ContiguousArrayBuffer",
              "$ss15ContiguousArray", "$sSa", "static _DictionaryStorage.allocate")


def demangle(names):
    out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                         capture_output=True, text=True).stdout.splitlines()
    return out if len(out) == len(names) else names


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    owners, sites = collections.Counter(), collections.Counter()
    for line in open(path):
        stack, _, cost = line.rstrip().rpartition(" ")
        frames = [f.split(" (")[0] for f in stack.split(";") if f]
        if any("SwitchyardProxy" in f for f in frames):
            owner = "switchyard"
        elif any("SelectableEventLoop" in f for f in frames):
            owner = "nio"
        else:
            owner = "startup"
        owners[owner] += int(cost)
        # The allocation's site: the two innermost frames that are not the allocator itself.
        site = [f for f in reversed(frames) if not f.startswith(ALLOCATORS)][:2]
        sites[(owner, tuple(site))] += int(cost)
    print(f"bytes per idle connection: {sum(owners.values()) / count:.0f}")
    for owner in ("nio", "switchyard", "startup"):
        print(f"  {owner:<10} {owners[owner] / count:6.0f}")
    top = [(k, v) for k, v in sites.most_common() if v >= 8 * count]
    names = demangle([f for (_, site), _ in top for f in site])
    print("sites (bytes per connection, owner, innermost frames):")
    for (owner, site), v in top:
        shown = [names.pop(0)[:90] for _ in site]
        print(f"  {v / count:6.0f}  {owner:<10} " + "  <-  ".join(shown))


main()
