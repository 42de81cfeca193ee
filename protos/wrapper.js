// ES module wrapper for pbjs static code. protobufjs is CommonJS: a default import
// gives the whole module, where `import * as` would miss most of its exports.
import $protobuf from "protobufjs/minimal.js";

$OUTPUT;

// Every .proto here declares `package auralink.<name>`.
export const auralink = $root.auralink;
export { $root as default };
