"""Writing a model's manifest.json from its evaluate.py without losing what evaluate.py does not own.

evaluate.py owns the values it derives from the model and its test run (output temperature,
thresholds and review band, metrics, ...). Everything else in manifest.json may be maintained by
hand (for example the `evaluation` list naming the test set behind each metrics section), so:
  * `template` holds the descriptive keys (id, name, intended use, input, card templates, ...):
    each is written only where the manifest does not have it yet;
  * `computed` holds the derived values: they replace the manifest's values, merged into nested
    objects so that a key evaluate.py does not write, at any depth of objects, is kept (a list is
    replaced as a whole);
  * key order is kept, a new key goes at the end, and the file is written as the repository
    stores every manifest: json.dump(indent=2) plus a final newline.
Without an existing file the result is the template followed by the computed keys.
"""
import copy
import json


def _merge(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for k, v in new.items():
            out[k] = _merge(old[k], v) if k in old else v
        return out
    return new


def write_manifest(path, template, computed):
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        manifest = {}
    for k, v in template.items():
        if k not in manifest:
            manifest[k] = copy.deepcopy(v)
    manifest = _merge(manifest, computed)
    with open(path, 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    return manifest
