// Step 4b: writes the GGUF file from export.py's manifest with the project's own writer.
//
//   node tools/train/export-gguf.mjs <work>/export/manifest.json <output.gguf>
//
// The manifest lists metadata as [key, type, value] (type: string, uint32, float32, bool, or an array of
// string/float32/int32 written as "string[]"...) and tensors as {name, type, ne, offset}, where offset counts float32
// values into tensors.f32 beside the manifest. Matrices are quantized to Q8_0 here, norms stay F32.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GgufWriter, GgufType } from '../gguf/writer.mjs';

const SCALAR_TYPES = {
  string: GgufType.STRING, uint32: GgufType.UINT32, int32: GgufType.INT32, float32: GgufType.FLOAT32,
  bool: GgufType.BOOL,
};

function gguf(manifestPath, outputPath) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const raw = readFileSync(join(dirname(manifestPath), 'tensors.f32'));
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);

  const writer = new GgufWriter();
  for (const [key, type, value] of manifest.metadata) {
    if (type.endsWith('[]')) {
      const elementType = SCALAR_TYPES[type.slice(0, -2)];
      if (elementType === undefined) throw new Error(`${key}: unknown array type ${type}`);
      writer.addArray(key, elementType, value);
    } else {
      const scalarType = SCALAR_TYPES[type];
      if (scalarType === undefined) throw new Error(`${key}: unknown type ${type}`);
      writer.add(key, scalarType, value);
    }
  }
  for (const { name, type, ne, offset } of manifest.tensors) {
    const count = ne.reduce((a, b) => a * b, 1);
    if (offset + count > values.length) throw new Error(`${name}: data past the end of tensors.f32`);
    writer.addTensor(name, type, ne, values.subarray(offset, offset + count));
  }
  const bytes = writer.write(outputPath);
  console.log(`export-gguf: ${manifest.tensors.length} tensors, ${manifest.metadata.length} keys -> ${outputPath} (${bytes} bytes)`);
}

const [manifestPath, outputPath] = process.argv.slice(2);
if (!manifestPath || !outputPath) {
  console.error('usage: node tools/train/export-gguf.mjs <manifest.json> <output.gguf>');
  process.exit(2);
}
gguf(manifestPath, outputPath);
