from pathlib import Path
from shapeprof.accuracy import load_accuracy_data, score_variants
W = Path('/tmp/acc/work/accuracy-variants')
m = '/tmp/acc/work/minilm-onnx'
d = load_accuracy_data(None, 'embedding')
paths = {'onnx': Path(m) / 'model.onnx', 'int8': W / 'int8/model-int8.onnx',
         'static-int8 (new defaults)': W / 'static-int8/model-static-int8.onnx'}
for s in score_variants(m, paths, d):
    print(s.variant, s.metric.format(), s.drop.format() if s.drop else '', flush=True)
