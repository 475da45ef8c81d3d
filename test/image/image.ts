/** Where make-test-image.sh put the image the checks read and boot (scripts/check-image.sh builds it first). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function testImageDir(): string {
  const dir = process.env.NEURITE_TEST_IMAGE_DIR;
  if (!dir || !existsSync(join(dir, 'images', 'neurite-rpi4.img'))) {
    throw new Error('no test image: run these checks through `make check-image` (NEURITE_TEST_IMAGE_DIR names test/image/make-test-image.sh output)');
  }
  return dir;
}
