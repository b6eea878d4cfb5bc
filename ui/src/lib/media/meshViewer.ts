// A three.js viewer for Object3D files (glTF/GLB, OBJ, STL): orbit controls, a camera fitted
// to the object, image-based lighting. This module and three.js are loaded with a dynamic
// import by MeshViewer.svelte, so they are a chunk of their own, fetched only when a 3D
// panel is shown.
//
// Every viewer of the page draws through one WebGL context: browsers keep only about 16
// (Chrome drops the oldest beyond that, and its canvas goes blank), and a workspace can
// show a 3D panel per run and key. Each viewer has its own scene, camera and controls and a
// plain 2D canvas; the shared renderer draws the scene into a corner of its own offscreen
// canvas and copies that corner into the viewer's canvas (drawImage). One context also
// compiles each shader and builds the room environment once for all viewers.
import {
  Box3,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  HemisphereLight,
  Material,
  Mesh,
  MeshStandardMaterial,
  Object3D,
  PerspectiveCamera,
  PMREMGenerator,
  Scene,
  Sphere,
  Texture,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { RoomEnvironment } from 'three/examples/jsm/environments/RoomEnvironment.js';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import { STLLoader } from 'three/examples/jsm/loaders/STLLoader.js';
import { fitCamera, type Object3DFormat } from './object3d';

export interface Shown {
  meshes: number;
  triangles: number;
  vertices: number;
}

const FOV = 45;
const PLAIN = 0x9aa9bd; // the colour of meshes that bring none (OBJ without MTL, STL)

function plainMaterial(geometry: BufferGeometry, opacity = 1): MeshStandardMaterial {
  return new MeshStandardMaterial({
    color: geometry.hasAttribute('color') ? 0xffffff : PLAIN,
    vertexColors: geometry.hasAttribute('color'),
    roughness: 0.6,
    metalness: 0.05,
    side: DoubleSide, // exported meshes often have inconsistent winding
    transparent: opacity < 1,
    opacity,
  });
}

async function load(url: string, format: Object3DFormat): Promise<Object3D> {
  if (format === 'glb' || format === 'gltf') return (await new GLTFLoader().loadAsync(url)).scene;
  if (format === 'obj') {
    const group = await new OBJLoader().loadAsync(url);
    // OBJLoader gives white Phong materials when there is no MTL (it is never logged with one)
    group.traverse((o) => {
      if (o instanceof Mesh) {
        for (const m of ([] as Material[]).concat(o.material)) m.dispose();
        if (!o.geometry.hasAttribute('normal')) o.geometry.computeVertexNormals();
        o.material = plainMaterial(o.geometry);
      }
    });
    return group;
  }
  if (format === 'stl') {
    const geometry = await new STLLoader().loadAsync(url);
    if (!geometry.hasAttribute('normal')) geometry.computeVertexNormals();
    const alpha = (geometry as BufferGeometry & { alpha?: number }).alpha;
    return new Mesh(geometry, plainMaterial(geometry, alpha ?? 1));
  }
  throw new Error(`${format} files are not drawn here`);
}

function stats(root: Object3D): Shown {
  const out: Shown = { meshes: 0, triangles: 0, vertices: 0 };
  root.traverse((o) => {
    if (!(o instanceof Mesh)) return;
    const g = o.geometry as BufferGeometry;
    const n = g.getAttribute('position')?.count ?? 0;
    out.meshes += 1;
    out.vertices += n;
    out.triangles += Math.floor((g.index ? g.index.count : n) / 3);
  });
  return out;
}

function dispose(root: Object3D): void {
  root.traverse((o) => {
    const m = o as Mesh;
    m.geometry?.dispose();
    const mats = Array.isArray(m.material) ? m.material : m.material ? [m.material] : [];
    for (const mat of mats) {
      for (const value of Object.values(mat)) if (value instanceof Texture) value.dispose();
      mat.dispose();
    }
  });
}

// The page's one WebGL renderer, shared by every viewer and given back a while after the
// last viewer goes (so moving between tabs does not compile the shaders again).
class SharedRenderer {
  readonly renderer: WebGLRenderer;
  environment: Texture;
  readonly viewers = new Set<MeshViewer>();
  private width = 0;
  private height = 0;

  // Throws when the browser has no WebGL.
  constructor() {
    const canvas = document.createElement('canvas');
    this.renderer = new WebGLRenderer({ canvas, antialias: true, alpha: true });
    this.renderer.setClearColor(new Color(0x000000), 0); // the panel's background shows through
    this.environment = roomEnvironment(this.renderer);
    // three.js restores its state after a lost context; the environment is a render target
    // whose pixels are gone, so it is made again, and every view is drawn again.
    canvas.addEventListener('webglcontextrestored', () => {
      this.environment.dispose();
      this.environment = roomEnvironment(this.renderer);
      for (const v of this.viewers) v.render();
    });
  }

  // Draw a scene at the size of the target canvas, then copy it there. The drawing buffer
  // only grows (reallocating it for every panel of another size would cost more than the
  // unused corner); each view is drawn in its bottom-left corner, which is the top-left
  // corner of the canvas's image.
  draw(scene: Scene, camera: PerspectiveCamera, target: CanvasRenderingContext2D): void {
    const { width, height } = target.canvas;
    if (width > this.width || height > this.height) {
      this.width = Math.max(width, this.width);
      this.height = Math.max(height, this.height);
      this.renderer.setSize(this.width, this.height, false);
    }
    this.renderer.setViewport(0, 0, width, height);
    this.renderer.setScissor(0, 0, width, height);
    this.renderer.setScissorTest(true); // clear only this view's corner
    this.renderer.render(scene, camera);
    target.clearRect(0, 0, width, height);
    // Read in the same task as the render: the drawing buffer is still there.
    target.drawImage(this.renderer.domElement, 0, this.height - height, width, height, 0, 0, width, height);
  }

  dispose(): void {
    this.environment.dispose();
    this.renderer.dispose();
    this.renderer.forceContextLoss();
  }
}

function roomEnvironment(renderer: WebGLRenderer): Texture {
  const pmrem = new PMREMGenerator(renderer);
  const room = new RoomEnvironment();
  const texture = pmrem.fromScene(room, 0.04).texture;
  room.dispose();
  pmrem.dispose();
  return texture;
}

const KEEP_MS = 20_000;
let shared: SharedRenderer | null = null;
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

function acquire(viewer: MeshViewer): SharedRenderer {
  clearTimeout(releaseTimer);
  shared ??= new SharedRenderer();
  shared.viewers.add(viewer);
  return shared;
}

function release(viewer: MeshViewer): void {
  if (!shared) return;
  shared.viewers.delete(viewer);
  if (shared.viewers.size) return;
  clearTimeout(releaseTimer);
  releaseTimer = setTimeout(() => {
    if (shared && !shared.viewers.size) {
      shared.dispose();
      shared = null;
    }
  }, KEEP_MS);
}

export class MeshViewer {
  private gl: SharedRenderer;
  private target: CanvasRenderingContext2D;
  private scene = new Scene();
  private camera = new PerspectiveCamera(FOV, 1, 0.01, 1000);
  private controls: OrbitControls;
  private sky = new HemisphereLight(0xffffff, 0x444a55);
  private key = new DirectionalLight(0xffffff);
  private object: Object3D | null = null;
  private gltf = false;
  private drawnThisFrame = false;
  private pending = false;
  private fitting = false;
  private loads = 0;
  private disposed = false;

  // Throws when the browser has no WebGL.
  constructor(private canvas: HTMLCanvasElement) {
    const target = canvas.getContext('2d');
    if (!target) throw new Error('no 2D canvas');
    this.target = target;
    this.gl = acquire(this);
    // Sky/ground light plus a key light that follows the camera, so every side you turn to has
    // shading; glTF files also get the room environment (their PBR materials, metals above
    // all, look flat without one). OBJ and STL files use the plain material only with lights:
    // image-based light on their faces turned downwards is noisy in software WebGL.
    this.scene.add(this.sky);
    this.key.position.set(0.5, 1, 1);
    this.camera.add(this.key);
    this.scene.add(this.camera);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener('change', () => this.fitting || this.renderSoon());
  }

  // Draw now, unless this view was drawn in this frame already: then once more at the next
  // frame. Wheels and trackpads can send several events per frame, and each drawing is a
  // render plus a copy.
  private renderSoon(): void {
    if (this.drawnThisFrame) {
      this.pending = true;
      return;
    }
    this.render();
    this.drawnThisFrame = true;
    requestAnimationFrame(() => {
      this.drawnThisFrame = false;
      if (this.pending) {
        this.pending = false;
        this.renderSoon();
      }
    });
  }

  // Load a file and show it instead of the current object; a load overtaken by a later one
  // is thrown away.
  async show(url: string, format: Object3DFormat): Promise<Shown> {
    const ticket = ++this.loads;
    const object = await load(url, format);
    if (ticket !== this.loads || this.disposed) {
      dispose(object);
      throw new DOMException('superseded', 'AbortError');
    }
    if (this.object) {
      this.scene.remove(this.object);
      dispose(this.object);
    }
    this.object = object;
    this.gltf = format === 'glb' || format === 'gltf';
    this.sky.intensity = this.gltf ? 0.3 : 1.8; // the environment lights glTF files already
    this.key.intensity = this.gltf ? 1.0 : 2.2;
    this.scene.add(object);
    this.fit();
    return stats(object);
  }

  // Put the camera where the whole object is in view (also what double-click does).
  fit(): void {
    if (!this.object) return;
    const box = new Box3().setFromObject(this.object);
    if (box.isEmpty()) return this.render();
    const sphere = box.getBoundingSphere(new Sphere());
    const f = fitCamera(sphere.radius, FOV, this.camera.aspect);
    const dir = new Vector3(...f.direction);
    this.camera.position.copy(sphere.center).addScaledVector(dir, f.distance);
    this.camera.near = f.near;
    this.camera.far = f.far;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(sphere.center);
    this.controls.minDistance = f.distance / 50;
    this.controls.maxDistance = f.distance * 20;
    this.fitting = true; // one drawing below, not one more for the controls' change event
    this.controls.update();
    this.fitting = false;
    this.render();
  }

  // The panel's size in CSS pixels; the canvas gets as many device pixels (up to 2 per pixel).
  resize(width: number, height: number): void {
    if (width <= 0 || height <= 0) return;
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render(): void {
    if (this.disposed || !this.canvas.width || !this.canvas.height) return;
    this.scene.environment = this.gltf ? this.gl.environment : null;
    this.gl.draw(this.scene, this.camera, this.target);
  }

  dispose(): void {
    this.disposed = true;
    this.controls.dispose();
    if (this.object) dispose(this.object);
    this.object = null;
    release(this);
  }
}
