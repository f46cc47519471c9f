/*
 * People Zones map: point layers fed by the compact columnar ".points" JSON, clustered in the browser, with
 * details fetched on click; and the legend control. Plain ES5 on top of Leaflet and supercluster (no bundler).
 *
 * Why supercluster and not Leaflet.markercluster: in Chromium on this project's machine, 100,000 points took
 * ~1.6-1.8 s with markercluster (chunkedLoading, one L.Marker per point created up front) against ~0.4 s with
 * supercluster (index built once; only the clusters and points in view become Leaflet markers, a few hundred at
 * most). Because clustering runs up to the map's last zoom, what is drawn stays bounded at every zoom, so every
 * marker can be a real, keyboard-focusable DOM element.
 *
 * A layer whose .points carry names (community assets) can be filtered by category and searched by name from its
 * section of the legend; the filter rebuilds that layer's supercluster index from the features it keeps.
 *
 * Words: every text shown comes from the page's #zone-map-strings JSON, translated by the server (see
 * mapper/render/maps.py, SCRIPT_TEXTS); the English below is only a fallback for a key the page lacks. Numbers,
 * dates and name sorting follow the page's <html lang>.
 *
 * Details: a large layer's .points carry no ids (see mapper/export/points.py), so a click asks for the feature at its
 * position with the .points' version; a 409 means the layer changed, and the layer reloads its .points.
 *
 * Coordinates: the .points JSON and supercluster use GeoJSON order [lon, lat]; Leaflet takes [lat, lon].
 * User text reaches the page only through textContent, never innerHTML.
 */
/* global L, Supercluster */
(function () {
  'use strict';

  var COLOUR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;
  var SYMBOL = /^[A-Za-z0-9]$/;
  var GREY = '#636363';
  var MAX_LISTED = 20;
  var FOCUS_ZOOM = 17;       // a street: close enough to pick out one building's marker
  var SEARCH_DELAY = 150;    // ms after the last keystroke; rebuilding a large layer's index is not free
  var NARROW = '(max-width: 40rem)';
  var LANGUAGE = document.documentElement.lang || 'en-GB';

  var FALLBACK = {
    uncategorised: 'Uncategorised',
    markerNamed: '{name} – {category}',
    markerUnnamed: '{category} ({status})',
    clusterTitle: '{count} {layer}: select to zoom in',
    clusterHere: '{count} {layer} here',
    showingFirst: 'Showing the first {count}.',
    loadingDetails: 'Loading details…',
    gone: 'This feature is no longer shown on the map.',
    changed: 'The map’s data has changed and is being reloaded: select the feature again.',
    detailsFailedStatus: 'Could not load the details (the server answered {status}).',
    detailsFailed: 'Could not load the details.',
    serverAnswered: 'the server answered {status}',
    yes: 'Yes',
    no: 'No',
    status: 'Status',
    added: 'Added',
    updated: 'Updated',
    stillLoading: 'Still loading; the list appears when the map has loaded.',
    noMatches: 'No name matches “{query}”',
    firstMatches: 'The first {shown} of {total} matches; type more of the name',
    oneMatch: '1 match',
    matches: '{count} matches',
    moreHidden: '{text} ({count} more in categories not shown)',
    sentence: '{text}.',
    layerLoading: 'Loading {layer}…',
    layerLoaded: '{layer}: {count} on the map.',
    layerFiltered: '{layer}: {shown} of {count} on the map.',
    layerFailed: 'Could not load {layer}: {message}.',
    walk: 'Audit walk',
    walkedOn: 'Walked on {date}',
    walkLength: '{length} m walked',
    walkPage: 'Open the walk’s page',
    othersNotDrawn: 'Other cells are not drawn.',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out'
  };

  var STRINGS = (function () {
    var block = document.getElementById('zone-map-strings');
    try { return (block && JSON.parse(block.textContent)) || {}; } catch (error) { return {}; }
  }());

  // The text for a key in the page's language, each {name} filled from values (a missing value leaves {name}).
  function t(key, values) {
    var text = typeof STRINGS[key] === 'string' && STRINGS[key] ? STRINGS[key] : (FALLBACK[key] || key);
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  var numberFormat = null;   // made once: each toLocaleString call builds a formatter (~30 ms on the first page load)

  function number(value) {
    try {
      numberFormat = numberFormat || new Intl.NumberFormat(LANGUAGE);
      return numberFormat.format(Number(value));
    } catch (error) { return String(value); }
  }

  // A layer's title inside a sentence ("Loading community assets…"), lower-cased by the page language's rules.
  function inSentence(title) {
    try { return String(title).toLocaleLowerCase(LANGUAGE); } catch (error) { return String(title).toLowerCase(); }
  }

  // Leaflet's zoom buttons are created by the page's map script, after this file: give them translated titles.
  if (window.L && L.Control && L.Control.Zoom) {
    L.Control.Zoom.prototype.options.zoomInTitle = t('zoomIn');
    L.Control.Zoom.prototype.options.zoomOutTitle = t('zoomOut');
  }

  function narrowScreen() {
    return Boolean(window.matchMedia && window.matchMedia(NARROW).matches);
  }

  // Case- and accent-insensitive search text: "Café" matches "cafe".
  function searchKey(value) {
    var text = String(value || '');
    if (text.normalize) { text = text.normalize('NFD').replace(/[\u0300-\u036f]/g, ''); }
    return text.toLowerCase();
  }

  function safeColour(value) {
    return COLOUR.test(value || '') ? value : GREY;
  }

  function byId(list) {
    var out = {};
    (list || []).forEach(function (item) { out[item.id] = item; });
    return out;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // A link only for http(s) URLs, so that javascript: or data: URLs from a submission never become clickable.
  function safeLink(value) {
    var url;
    try { url = new URL(String(value)); } catch (error) { return element('span', null, value); }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') { return element('span', null, value); }
    var link = element('a', null, value);
    link.href = url.href;
    link.rel = 'noopener nofollow';
    return link;
  }

  // Popup options that keep it on screen: no wider than a phone allows, and clear of the controls at the top.
  function popupOptions(map) {
    var topControls = map.getContainer().querySelector('.leaflet-top.leaflet-right');
    var maxWidth = Math.max(160, Math.min(320, map.getSize().x - 80));
    return {
      maxWidth: maxWidth,
      // Leaflet sizes a popup to its content unwrapped, and a description (its column may wrap anywhere) counts as
      // one letter wide: without a floor the text stood one letter a line.
      minWidth: Math.min(240, maxWidth),
      autoPanPaddingTopLeft: L.point(10, (topControls ? topControls.offsetHeight : 0) + 10),
      autoPanPaddingBottomRight: L.point(10, 10)
    };
  }

  function formatDate(value) {
    var date = new Date(value);
    if (isNaN(date.getTime())) { return String(value); }
    try {
      return date.toLocaleDateString(LANGUAGE, {day: 'numeric', month: 'long', year: 'numeric'});
    } catch (error) {
      return date.toLocaleDateString('en-GB', {day: 'numeric', month: 'long', year: 'numeric'});
    }
  }

  // Static, validated pieces only (colours and letters from the layer configuration): never user text.
  var SVG = 'http://www.w3.org/2000/svg';

  function svgElement(tag, attributes) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, String(attributes[name])); });
    return node;
  }

  // A marker's picture, built as elements (never an HTML string, so no value can become markup).
  function markerElement(kind, colour, symbol, look) {
    var filled = look === 'filled';
    var fill = filled ? colour : '#ffffff';
    var stroke = filled ? '#ffffff' : colour;
    var width = filled ? 1.5 : 3;
    var size = kind === 'symbol' ? 24 : 18;
    var svg = svgElement('svg', {width: size, height: size, viewBox: '0 0 ' + size + ' ' + size,
                                 'aria-hidden': 'true', focusable: 'false'});
    var shape = kind === 'symbol' ?
      svgElement('rect', {x: 2, y: 2, width: 20, height: 20, rx: 5, fill: fill, stroke: stroke, 'stroke-width': width}) :
      svgElement('circle', {cx: 9, cy: 9, r: 6.5, fill: fill, stroke: stroke, 'stroke-width': width});
    if (look === 'dashed') { shape.setAttribute('stroke-dasharray', '4 3'); }
    svg.appendChild(shape);
    if (kind === 'symbol') {
      var letter = svgElement('text', {x: 12, y: 16.5, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 700,
                                       'font-family': 'sans-serif', fill: stroke});
      letter.textContent = SYMBOL.test(symbol || '') ? symbol : '';
      svg.appendChild(letter);
    }
    return svg;
  }

  // A divIcon that gives each marker its own copy of an element: Leaflet's divIcon takes an HTML string (parsed as
  // markup) or one element, which it would move from marker to marker when the icon is shared.
  var ElementIcon = L.DivIcon.extend({
    options: {html: '', element: null},
    createIcon: function (oldIcon) {
      var div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      div.appendChild(this.options.element.cloneNode(true));
      return div;
    }
  });

  // Leaflet's layer control puts each layer's name in with innerHTML, and a name can come from a zone's (`mapper zones
  // add`): this one lets Leaflet build the row with no name, then writes the name in as text.
  var LayersControl = L.Control.Layers.extend({
    _addItem: function (obj) {
      var label = L.Control.Layers.prototype._addItem.call(this, L.extend({}, obj, {name: ''}));
      var name = label.firstChild && label.firstChild.lastChild;  // <label><span><input><span> name</span></span>
      if (name) { name.textContent = ' ' + String(obj.name); }
      return label;
    }
  });

  // A User Timing mark ("pz:lights:parsed"), so a profile or benchmarks/map_page.py can see where the time goes.
  function mark(layer, step) {
    if (window.performance && performance.mark) { performance.mark('pz:' + layer.options.layer + ':' + step); }
  }

  var PointLayer = L.Layer.extend({
    options: {
      clusterRadius: 60,   // pixels
      pointsUrl: null,
      featureUrlPrefix: null,
      marker: 'circle',
      categories: [],
      statuses: [],
      fields: [],
      named: false
    },

    initialize: function (options) {
      L.setOptions(this, options);
      this._group = L.layerGroup();
      this._index = null;
      this._loading = null;
      this._icons = {};
      this._categories = byId(this.options.categories);
      this._statuses = byId(this.options.statuses);
      this._hidden = {};   // category id -> true for unticked categories
      this._query = '';
      this.count = null;
    },

    getEvents: function () {
      return {moveend: this._draw};
    },

    onAdd: function (map) {
      this._group.addTo(map);
      if (this._index) { this._draw(); } else { this._load(); }
    },

    onRemove: function (map) {
      map.removeLayer(this._group);
    },

    _load: function (again) {
      if (this._loading) { return this._loading; }
      var self = this;
      var map = this._map;
      map.fire('pz:layerloading', {title: this.options.title});
      mark(this, 'request');
      // Start Intl's number formatting (~100 ms the first time in Chromium here) while the data downloads, not after.
      setTimeout(function () { number(0); }, 0);
      // Same mode and credentials as the page's <link rel="preload">, so the browser reuses that download; a
      // reload asks the server again (the ETag makes that cheap when nothing changed).
      this._loading = fetch(this.options.pointsUrl, {mode: 'cors', credentials: 'same-origin',
                                                     cache: again ? 'no-cache' : 'default'})
        .then(function (response) {
          if (!response.ok) { throw new Error(t('serverAnswered', {status: response.status})); }
          mark(self, 'response');
          return response.json();
        })
        .then(function (data) {
          mark(self, 'parsed');
          self._data = data;
          self._keys = self.options.named && data.name ? data.name.map(searchKey) : null;
          self.count = data.count;
          self._applyFilter(map);
          (self._map || map).fire('pz:layerload', {title: self.options.title, count: data.count});
          self.fire('load', {count: data.count});
        })
        .catch(function (error) {
          self._loading = null;
          (self._map || map).fire('pz:layererror', {title: self.options.title, message: error.message});
        });
      return this._loading;
    },

    // Supercluster's points for the kept rows; built once per filter and shared by both indexes below.
    _points: function (data, kept) {
      var points = new Array(kept.length);
      for (var k = 0; k < kept.length; k++) {
        var i = kept[k];
        // GeoJSON order, as supercluster expects: [lon, lat]
        points[k] = {type: 'Feature', properties: {i: i}, geometry: {type: 'Point', coordinates: [data.lon[i], data.lat[i]]}};
      }
      return points;
    },

    _buildIndex: function (points, maxZoom) {
      var index = new Supercluster({radius: this.options.clusterRadius, minZoom: this._zooms[0], maxZoom: maxZoom});
      this._indexZoom = maxZoom;
      return index.load(points);
    },

    /*
     * Index the kept rows in two steps. Supercluster builds every zoom from its maxZoom down, and the zooms closest
     * in (19, 18, 17...) cost the most, since there nothing merges: at 100,000 features the whole index took
     * 300-900 ms in Chromium here. So the first index stops at the zoom in view and is drawn at once; the full one
     * (clustered up to the map's last zoom, so what is drawn stays bounded however dense the data) is built in the
     * next task, or at once if someone zooms in further before that.
     */
    _indexRows: function (data, kept) {
      clearTimeout(this._completing);
      this._pointsKept = this._points(data, kept);
      var first = Math.min(this._zooms[1], Math.max(this._zooms[0], Math.round(this._map ? this._map.getZoom() : 0)));
      this._index = this._buildIndex(this._pointsKept, first);
      if (first < this._zooms[1]) {
        var self = this;
        this._completing = setTimeout(function () { if (self._completeIndex()) { self._draw(); } }, 0);
      }
    },

    // Build the full index if only the first one is there; true if it did.
    _completeIndex: function () {
      if (this._indexZoom >= this._zooms[1] || !this._pointsKept) { return false; }
      clearTimeout(this._completing);
      this._index = this._buildIndex(this._pointsKept, this._zooms[1]);
      mark(this, 'indexed-all');
      return true;
    },

    // Show only the features in ticked categories whose names contain the query (case and accents ignored).
    setFilter: function (hiddenCategories, query) {
      this._hidden = hiddenCategories || {};
      this._query = searchKey(query).trim();
      if (this._data) { this._applyFilter(this._map); }
    },

    _passes: function (i, ignoreCategories) {
      var data = this._data;
      if (!ignoreCategories && this._hidden[data.categories[data.category[i]]]) { return false; }
      return !this._query || (this._keys !== null && this._keys[i].indexOf(this._query) >= 0);
    },

    _applyFilter: function (map) {
      var data = this._data;
      var kept = [];
      for (var i = 0; i < data.count; i++) {
        if (this._passes(i, false)) { kept.push(i); }
      }
      if (map) { this._zooms = [Math.max(0, map.getMinZoom()), map.getMaxZoom()]; }
      this._indexRows(data, kept);
      mark(this, 'indexed');
      this._draw();
      mark(this, 'drawn');
      if (map) { map.fire('pz:layerfilter', {title: this.options.title, shown: kept.length, count: data.count}); }
    },

    /*
     * The features whose names match the query, in ticked categories, names starting with it first:
     * {loaded, total, items: [{index, name, category}], hiddenByCategory}. An empty query matches nothing here.
     */
    matches: function (limit) {
      var result = {loaded: Boolean(this._data), total: 0, items: [], hiddenByCategory: 0};
      if (!this._data || !this._query || !this._keys) { return result; }
      var found = [];
      for (var i = 0; i < this._data.count; i++) {
        if (this._passes(i, false)) {
          found.push(i);
        } else if (this._passes(i, true)) {
          result.hiddenByCategory += 1;
        }
      }
      var keys = this._keys;
      var query = this._query;
      var names = this._data.name;
      found.sort(function (a, b) {
        var aStarts = keys[a].indexOf(query) === 0 ? 0 : 1;
        var bStarts = keys[b].indexOf(query) === 0 ? 0 : 1;
        return aStarts - bStarts || names[a].localeCompare(names[b], LANGUAGE);
      });
      result.total = found.length;
      var self = this;
      result.items = found.slice(0, limit || MAX_LISTED).map(function (i) {
        return {index: i, name: names[i], category: self._describe(i).category.label};
      });
      return result;
    },

    // Centre the map on one feature, close enough to see it, and open its details; returnFocus gets focus back
    // when the popup closes.
    showFeature: function (i, returnFocus) {
      var map = this._map;
      if (!map || !this._data) { return; }
      var latlng = L.latLng(this._data.lat[i], this._data.lon[i]);   // [lon, lat] columns -> Leaflet [lat, lon]
      map.setView(latlng, Math.min(map.getMaxZoom(), Math.max(map.getZoom(), FOCUS_ZOOM)), {animate: false});
      this._openDetails(i, latlng, returnFocus);
    },

    _draw: function () {
      var map = this._map;
      if (!map || !this._index) { return; }
      var bounds = map.getBounds().pad(0.25);
      var zoom = Math.round(map.getZoom());
      if (zoom > this._indexZoom) { this._completeIndex(); }
      var items = this._index.getClusters([
        Math.max(-180, bounds.getWest()), Math.max(-85, bounds.getSouth()),
        Math.min(180, bounds.getEast()), Math.min(85, bounds.getNorth())
      ], zoom);
      var markers = [];
      for (var k = 0; k < items.length; k++) {
        var item = items[k];
        var position = item.geometry.coordinates;
        var latlng = L.latLng(position[1], position[0]);   // [lon, lat] -> Leaflet [lat, lon]
        markers.push(item.properties.cluster ? this._clusterMarker(item, latlng, this._index) :
          this._pointMarker(item.properties.i, latlng));
      }
      this._group.clearLayers();
      for (var m = 0; m < markers.length; m++) { this._group.addLayer(markers[m]); }
    },

    _describe: function (i) {
      var data = this._data;
      var categoryId = data.categories[data.category[i]];
      var statusId = data.statuses[data.status[i]];
      var category = this._categories[categoryId] || {id: categoryId, label: categoryId || t('uncategorised'), colour: GREY};
      var status = this._statuses[statusId] || {id: statusId, label: statusId, look: 'ring'};
      var name = this.options.named && data.name ? data.name[i] : '';
      // What a person calls the feature: its name where it has one, else its category.
      return {category: category, status: status, name: name, title: name || category.label};
    },

    _icon: function (category, status) {
      var key = category.id + '|' + status.id;
      if (!this._icons[key]) {
        var size = this.options.marker === 'symbol' ? 24 : 18;
        this._icons[key] = new ElementIcon({
          className: 'pz-point pz-point--' + this.options.marker,
          element: markerElement(this.options.marker, safeColour(category.colour), category.symbol, status.look),
          iconSize: [size, size]
        });
      }
      return this._icons[key];
    },

    _pointMarker: function (i, latlng) {
      var described = this._describe(i);
      var marker = L.marker(latlng, {
        icon: this._icon(described.category, described.status),
        keyboard: true,
        title: described.name ? t('markerNamed', {name: described.name, category: described.category.label}) :
          t('markerUnnamed', {category: described.category.label, status: described.status.label})
      });
      marker.on('click', function () { this._openDetails(i, latlng); }, this);
      return marker;
    },

    // index: the supercluster index the cluster comes from (its cluster_id means nothing in another).
    _clusterMarker: function (cluster, latlng, index) {
      var count = cluster.properties.point_count;
      var size = Math.round(28 + 6 * Math.log(count) / Math.LN10);
      var marker = L.marker(latlng, {
        icon: L.divIcon({
          className: 'pz-cluster pz-cluster--' + this.options.marker,
          html: element('span', null, String(cluster.properties.point_count_abbreviated)),  // its own element
          iconSize: [size, size]
        }),
        keyboard: true,
        title: t('clusterTitle', {count: number(count), layer: inSentence(this.options.title)})
      });
      marker.on('click', function () { this._expand(cluster, latlng, index); }, this);
      return marker;
    },

    _expand: function (cluster, latlng, index) {
      var map = this._map;
      var zoom = index.getClusterExpansionZoom(cluster.properties.cluster_id);
      if (zoom <= map.getMaxZoom() && zoom > map.getZoom()) {
        map.setView(latlng, zoom);
        return;
      }
      // Features too close to ever separate (the same lamp reported twice): list them instead.
      var leaves = index.getLeaves(cluster.properties.cluster_id, MAX_LISTED);
      var box = element('div', 'pz-popup');
      box.appendChild(element('h3', null, t('clusterHere', {count: number(cluster.properties.point_count),
                                                              layer: inSentence(this.options.title)})));
      var list = element('ul', 'pz-popup-list');
      var self = this;
      leaves.forEach(function (leaf) {
        var i = leaf.properties.i;
        var item = element('li');
        var button = element('button', null, self._describe(i).title);
        button.type = 'button';
        button.addEventListener('click', function () { self._openDetails(i, latlng); });
        item.appendChild(button);
        list.appendChild(item);
      });
      box.appendChild(list);
      if (cluster.properties.point_count > leaves.length) {
        box.appendChild(element('p', null, t('showingFirst', {count: number(leaves.length)})));
      }
      L.popup(popupOptions(map)).setLatLng(latlng).setContent(box).openOn(map);
    },

    /*
     * Where feature i's details are: by id when the .points carry ids (small layers), else by its position in them
     * and their version (with the .points' own query, so that position means the same row); the server answers
     * 409 if the layer has changed since.
     */
    _featureUrl: function (i) {
      var data = this._data;
      if (data.id) { return this.options.featureUrlPrefix + encodeURIComponent(data.id[i]); }
      var query = String(this.options.pointsUrl).split('?')[1];
      return this.options.featureUrlPrefix + 'at/' + i + '?version=' + encodeURIComponent(data.version) +
        (query ? '&' + query : '');
    },

    // Fetch the layer's .points again (the server has a newer version) and redraw it; open popups stay open.
    _reload: function () {
      if (this._loading && !this._data) { return this._loading; }
      this._loading = null;
      return this._load(true);
    },

    _openDetails: function (i, latlng, returnFocus) {
      var described = this._describe(i);
      var map = this._map;
      var box = element('div', 'pz-popup');
      var heading = element('h3', null, described.title);
      box.appendChild(heading);
      if (described.name) { box.appendChild(element('p', 'pz-popup-category', described.category.label)); }
      var waiting = element('p', 'pz-popup-loading', t('loadingDetails'));
      box.appendChild(waiting);
      var popup = L.popup(popupOptions(map)).setLatLng(latlng).setContent(box).openOn(map);
      if (returnFocus) {
        // Opened from the search list: take keyboard focus into the popup, Escape closes it, and focus goes back.
        heading.tabIndex = -1;
        heading.focus();
        box.addEventListener('keydown', function (event) {
          if (event.key === 'Escape') { map.closePopup(popup); }
        });
        popup.on('remove', function () {
          if (!document.activeElement || document.activeElement === document.body || box.contains(document.activeElement)) {
            returnFocus();
          }
        });
      }
      // The name is the popup's title already.
      var fields = described.name ? this.options.fields.filter(function (field) { return field.name !== 'name'; }) :
        this.options.fields;
      var self = this;
      fetch(this._featureUrl(i), {headers: {Accept: 'application/geo+json'}, credentials: 'same-origin'})
        .then(function (response) {
          if (response.status === 409) {
            // The layer changed since its .points loaded, so position i may be another feature now: reload them.
            self._reload();
            throw new Error(t('changed'));
          }
          if (response.status === 404) { throw new Error(t('gone')); }
          if (!response.ok) { throw new Error(t('detailsFailedStatus', {status: response.status})); }
          return response.json();
        })
        .then(function (feature) {
          box.removeChild(waiting);
          box.appendChild(details(feature.properties || {}, fields, described.status.label));
          // Measure the popup again for its new content and pan it into view; re-adding the content drops focus.
          var focused = box.contains(document.activeElement) ? document.activeElement : null;
          popup.update();
          if (focused) { focused.focus(); }
        })
        .catch(function (error) {
          waiting.textContent = error.message || t('detailsFailed');
        });
    }
  });

  function details(properties, fields, statusLabel) {
    var list = element('dl', 'pz-popup-details');
    function add(label, value) {
      list.appendChild(element('dt', null, label));
      var cell = element('dd');
      if (value instanceof Node) { cell.appendChild(value); } else { cell.textContent = String(value); }
      list.appendChild(cell);
    }
    fields.forEach(function (field) {
      var value = properties[field.name];
      if (value === undefined || value === null || value === '') { return; }
      if (field.type === 'url') {
        add(field.label, safeLink(value));
      } else if (field.type === 'phone') {
        var link = element('a', null, value);
        link.href = 'tel:' + String(value).replace(/[^0-9+]/g, '');
        add(field.label, link);
      } else if (field.type === 'boolean') {
        add(field.label, value ? t('yes') : t('no'));
      } else {
        add(field.label, value);
      }
    });
    add(t('status'), statusLabel);
    if (properties.created) { add(t('added'), formatDate(properties.created)); }
    if (properties.updated && properties.updated !== properties.created) { add(t('updated'), formatDate(properties.updated)); }
    return list;
  }

  /*
   * The category checkboxes and name search of one layer's legend section, driving layer.setFilter. The search is
   * a text box followed by a list of buttons, one per match: Tab or Down arrow reaches them, Enter in the box
   * chooses the first, Escape clears the box.
   */
  function bindFilters(section, layer, box) {
    var input = section.querySelector('.legend-search input');
    var list = section.querySelector('.legend-matches');
    var summary = section.querySelector('.legend-matches-summary');
    var boxes = Array.prototype.slice.call(section.querySelectorAll('.legend-filters input[type=checkbox]'));
    var timer = null;

    function apply() {
      var hidden = {};
      boxes.forEach(function (checkbox) { if (!checkbox.checked) { hidden[checkbox.value] = true; } });
      layer.setFilter(hidden, input.value);
      listMatches();
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(function () { timer = null; apply(); }, SEARCH_DELAY);
    }

    function flush() {
      // A key that acts on the matches (Enter, Down) first lists those of everything typed so far: a list drawn
      // later would replace the button it focused, and focus would fall back to the page.
      if (timer !== null) { clearTimeout(timer); timer = null; apply(); }
    }

    function buttons() {
      return Array.prototype.slice.call(list.querySelectorAll('button'));
    }

    function choose(index, button) {
      // On a phone the open legend would cover the popup: fold it, and give focus back to the legend after.
      var folded = narrowScreen();
      if (folded) { box.open = false; }
      layer.showFeature(index, function () {
        var target = folded ? box.querySelector('summary') : button;
        if (target && target.isConnected) { target.focus(); }
      });
    }

    function listMatches() {
      list.textContent = '';
      if (!input.value.trim()) { summary.textContent = ''; return; }
      var found = layer.matches(MAX_LISTED);
      if (!found.loaded) { summary.textContent = t('stillLoading'); return; }
      var text;
      if (found.total === 0) {
        text = t('noMatches', {query: input.value.trim()});
      } else if (found.total > found.items.length) {
        text = t('firstMatches', {shown: number(found.items.length), total: number(found.total)});
      } else {
        text = found.total === 1 ? t('oneMatch') : t('matches', {count: number(found.total)});
      }
      if (found.hiddenByCategory) {
        text = t('moreHidden', {text: text, count: number(found.hiddenByCategory)});
      }
      summary.textContent = t('sentence', {text: text});
      found.items.forEach(function (item) {
        var row = element('li');
        var button = element('button');
        button.type = 'button';
        button.appendChild(element('span', 'legend-match-name', item.name));
        button.appendChild(element('span', 'legend-match-category', item.category));
        button.addEventListener('click', function () { choose(item.index, button); });
        row.appendChild(button);
        list.appendChild(row);
      });
    }

    input.addEventListener('input', later);
    input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === 'ArrowDown') { flush(); }
      var first = buttons()[0];
      if (event.key === 'Enter') {
        event.preventDefault();
        if (first) { first.click(); }
      } else if (event.key === 'ArrowDown' && first) {
        event.preventDefault();
        first.focus();
      } else if (event.key === 'Escape' && input.value) {
        event.preventDefault();
        input.value = '';
        apply();
      }
    });
    list.addEventListener('keydown', function (event) {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') { return; }
      var all = buttons();
      var position = all.indexOf(document.activeElement);
      if (position < 0) { return; }
      event.preventDefault();
      var next = position + (event.key === 'ArrowDown' ? 1 : -1);
      if (next < 0) { input.focus(); } else if (next < all.length) { all[next].focus(); }
    });
    boxes.forEach(function (checkbox) { checkbox.addEventListener('change', apply); });
    Array.prototype.forEach.call(section.querySelectorAll('.legend-filter-all button'), function (button) {
      button.addEventListener('click', function () {
        var on = button.getAttribute('data-select') === 'all';
        boxes.forEach(function (checkbox) { checkbox.checked = on; });
        apply();
      });
    });
    // Choices made while the layer was still loading (or kept by the browser on reload) apply once it arrives.
    layer.on('load', apply);
  }

  var Legend = L.Control.extend({
    options: {position: 'bottomleft', element: null, filterable: {}},

    onAdd: function (map) {
      var box = document.getElementById(this.options.element);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      // Open on wide screens; on a phone the legend would hide the map, so it starts folded (one tap opens it).
      if (narrowScreen()) { box.open = false; }
      this._status = box.querySelector('.map-status');
      this._messages = {};
      var filterable = this.options.filterable;
      Array.prototype.forEach.call(box.querySelectorAll('section[data-layer]'), function (section) {
        var layer = filterable[section.getAttribute('data-layer')];
        if (layer && section.querySelector('.legend-search')) { bindFilters(section, layer, box); }
      });
      map.on('pz:layerloading pz:layerload pz:layererror pz:layerfilter', this._update, this);
      return box;
    },

    onRemove: function (map) {
      map.off('pz:layerloading pz:layerload pz:layererror pz:layerfilter', this._update, this);
    },

    _update: function (event) {
      var text;
      if (event.type === 'pz:layerloading') {
        text = t('layerLoading', {layer: inSentence(event.title)});
      } else if (event.type === 'pz:layerload' || (event.type === 'pz:layerfilter' && event.shown === event.count)) {
        text = t('layerLoaded', {layer: event.title, count: number(event.count)});
      } else if (event.type === 'pz:layerfilter') {
        text = t('layerFiltered', {layer: event.title, shown: number(event.shown), count: number(event.count)});
      } else {
        text = t('layerFailed', {layer: inSentence(event.title), message: event.message});
      }
      this._messages[event.title] = text;
      var all = [];
      for (var title in this._messages) {
        if (Object.prototype.hasOwnProperty.call(this._messages, title)) { all.push(this._messages[title]); }
      }
      this._status.textContent = all.join(' ');
    }
  });

  // Lines or areas from a GeoJSON URL (audit walks, the area not yet walked, a hotspot grid): fetched the first time
  // the layer is switched on. Popups are built with textContent, and only a link made from the feature's id, never its
  // text. With options.styleBy, a feature's value of that property picks its class in options.classes (colour and
  // label): features with no class are not drawn, the popup names the class, and a legend shows while the layer is on.
  function lineLayer(options) {
    var classes = {};
    (options.classes || []).forEach(function (item) { classes[String(item.value)] = item; });
    function classOf(feature) {
      var value = (feature.properties || {})[options.styleBy];
      return value === undefined || value === null ? null : classes[String(value)] || null;
    }
    var group = L.geoJSON(null, {
      filter: options.styleBy ? function (feature) { return Boolean(classOf(feature)); } : null,
      style: function (feature) {
        if (options.styleBy) {
          var colour = safeColour(classOf(feature).colour);
          return {color: colour, weight: 0.5, opacity: 0.9, fill: true, fillColor: colour, fillOpacity: 0.6};
        }
        return {color: safeColour(options.colour), weight: options.fill ? 1 : 4, opacity: 0.85,
                fill: Boolean(options.fill), fillColor: safeColour(options.colour), fillOpacity: 0.18};
      },
      onEachFeature: function (feature, layer) {
        if (options.styleBy) {
          layer.bindPopup(function () { return classPopup(feature, classOf(feature), options); });
        } else if (options.pageUrlPrefix) {
          layer.bindPopup(function () { return walkPopup(feature, options); });
        }
      }
    });
    var requested = false;
    var key = null;
    group.on('add', function () {
      if (options.styleBy) {
        key = classLegend(options);
        key.addTo(group._map);
      }
      if (requested) { return; }
      requested = true;
      fetch(options.url, {credentials: 'same-origin', headers: {Accept: 'application/geo+json'}})
        .then(function (response) {
          if (!response.ok) { throw new Error(t('serverAnswered', {status: response.status})); }
          return response.json();
        })
        .then(function (data) { group.addData(data); })
        .catch(function () { requested = false; });
    });
    group.on('remove', function () {
      if (key) { key.remove(); key = null; }
    });
    return group;
  }

  // The key to a styled overlay's classes: a swatch (decorative) and the class's words, so colour is not the only cue.
  function classLegend(options) {
    var Key = L.Control.extend({
      options: {position: 'bottomright'},
      onAdd: function () {
        var box = element('section', 'pz-class-legend');
        box.setAttribute('aria-label', options.title);
        box.style.background = '#fff';
        box.style.padding = '.4rem .6rem';
        box.style.borderRadius = '4px';
        box.style.maxWidth = '16rem';
        box.appendChild(element('h2', 'pz-class-legend-title', options.title)).style.fontSize = '1rem';
        var list = element('ul');
        list.style.listStyle = 'none';
        list.style.margin = '0';
        list.style.padding = '0';
        (options.classes || []).forEach(function (item) {
          var row = element('li');
          var swatch = element('span', 'pz-class-swatch');
          swatch.setAttribute('aria-hidden', 'true');
          swatch.style.display = 'inline-block';
          swatch.style.width = '1em';
          swatch.style.height = '1em';
          swatch.style.marginInlineEnd = '.4em';
          swatch.style.verticalAlign = 'middle';
          swatch.style.border = '1px solid #555';
          swatch.style.background = safeColour(item.colour);
          row.appendChild(swatch);
          row.appendChild(element('span', null, item.label));
          list.appendChild(row);
        });
        box.appendChild(list);
        box.appendChild(element('p', null, t('othersNotDrawn')));
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new Key();
  }

  function classPopup(feature, item, options) {
    var box = element('div', 'pz-popup');
    box.appendChild(element('h2', 'pz-popup-title', options.title));
    box.appendChild(element('p', null, item ? item.label : ''));
    return box;
  }

  function walkPopup(feature, options) {
    var properties = feature.properties || {};
    var box = element('div', 'pz-popup');
    box.appendChild(element('h2', 'pz-popup-title', properties.title || t('walk')));
    if (properties.walked_on) { box.appendChild(element('p', null, t('walkedOn', {date: properties.walked_on}))); }
    if (typeof properties.length_m === 'number') {
      box.appendChild(element('p', null, t('walkLength', {length: number(Math.round(properties.length_m))})));
    }
    var link = element('a', null, t('walkPage'));
    link.href = options.pageUrlPrefix + encodeURIComponent(String(feature.id || properties.id || ''));
    box.appendChild(link);
    return box;
  }

  L.peopleZones = {
    PointLayer: PointLayer,
    Legend: Legend,
    lineLayer: lineLayer,
    pointLayer: function (options) { return new PointLayer(options); },
    layers: function (baseLayers, overlays, options) { return new LayersControl(baseLayers, overlays, options); },
    legend: function (elementId, filterable) { return new Legend({element: elementId, filterable: filterable || {}}); }
  };
}());
