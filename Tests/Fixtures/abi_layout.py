"""Prints a C program that prints the layout of every struct of a switchyard_plugin.h:
`abi_layout.py HEADER [--constants]`. The program prints, for each `typedef struct NAME {...}`,
`size NAME N` and for each field `field NAME.FIELD OFFSET SIZE`; with --constants it also
prints `minimum NAME N` from SY_<NAME>_SIZE_1_0 where the header defines it (the live header
does for every 1.0 struct, the frozen 1.0 copy for none). The test suite compiles it against the frozen ABI 1.0 header and the live one."""
import re
import sys

header = open(sys.argv[1]).read()
constants = "--constants" in sys.argv[2:]
text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
text = re.sub(r"//[^\n]*", "", text)
lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "switchyard_plugin.h"', "int main(void) {"]
for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", text, flags=re.S):
    lines.append(f'    printf("size {name} %zu\\n", sizeof({name}));')
    if constants and name != "sy_str":
        macro = "SY_" + name[3:].upper() + "_SIZE_1_0"
        lines.append(f"#ifdef {macro}")
        lines.append(f'    printf("minimum {name} %d\\n", {macro});')
        lines.append("#endif")
    for declaration in body.split(";"):
        declaration = " ".join(declaration.split())
        if not declaration:
            continue
        pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", declaration)
        field = pointer.group(1) if pointer else re.search(r"(\w+)\s*(\[[^\]]*\])?$", declaration).group(1)
        lines.append(f'    printf("field {name}.{field} %zu %zu\\n", offsetof({name}, {field}), sizeof((({name} *)0)->{field}));')
lines += ["    return 0;", "}"]
print("\n".join(lines))
