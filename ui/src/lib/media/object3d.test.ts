import { describe, expect, it } from 'vitest';
import { fitCamera, objectFormat } from './object3d';

describe('Object3D files', () => {
  it('picks the viewer from the stored file name', () => {
    expect(objectFormat('media/object3D/cloud_0_0123456789abcdef0123.pts.json')).toBe('points');
    expect(objectFormat('media/object3D/mesh_3_0123456789abcdef0123.GLB')).toBe('glb');
    expect(objectFormat('media/object3D/a.gltf')).toBe('gltf');
    expect(objectFormat('media/object3D/a.obj')).toBe('obj');
    expect(objectFormat('media/object3D/a.stl')).toBe('stl');
    expect(objectFormat('media/object3D/a.babylon')).toBe('other');
    expect(objectFormat('media/object3D/a.json')).toBe('other');
  });

  it('puts the camera where the whole bounding sphere is in view', () => {
    for (const aspect of [0.5, 1, 1.6, 3]) {
      const f = fitCamera(2, 45, aspect);
      const vHalf = (45 * Math.PI) / 360;
      const hHalf = Math.atan(Math.tan(vHalf) * aspect);
      // the sphere's angular radius seen from the camera fits both fields of view
      const seen = Math.asin(2 / f.distance);
      expect(seen).toBeLessThan(Math.min(vHalf, hHalf));
      expect(seen).toBeGreaterThan(Math.min(vHalf, hHalf) * 0.75); // and is not tiny
      expect(f.near).toBeLessThan(f.distance - 2);
      expect(f.far).toBeGreaterThan(f.distance + 2);
      expect(Math.hypot(...f.direction)).toBeCloseTo(1);
    }
    expect(fitCamera(1, 45, 0.5).distance).toBeGreaterThan(fitCamera(1, 45, 2).distance); // narrow panels: further
    expect(fitCamera(10, 45, 1).distance).toBeCloseTo(10 * fitCamera(1, 45, 1).distance); // scales with the object
    expect(Number.isFinite(fitCamera(0, 45, 1).distance)).toBe(true); // a single point still gets a camera
  });
});
